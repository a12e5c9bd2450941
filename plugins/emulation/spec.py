"""What a platform tells the supervisor about its emulator (``register_emulators`` hook)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Union

from plugins.model import StoreConnection


@dataclass(frozen=True)
class EmulatorSpec:
    """A store emulator that can be started with ``python -m <module> --host H --port P``.

    ``demo_connection(base_url, store_id)`` returns the :class:`StoreConnection` (demo
    credentials included) that talks to an emulator listening at ``base_url``.
    """

    name: str  #: platform name, e.g. "woocommerce"
    module: str  #: e.g. "plugins.woocommerce.emulator"
    default_port: int
    demo_connection: Callable[[str, Union[int, str]], StoreConnection]
    orders_env: Optional[str] = None  #: env var naming a JSON orders file (contract C4)
    demo_widget_id: Optional[str] = None  #: the demo store's widget id (contract C4), if any
    demo_display_name: Optional[str] = None  #: the demo store's name, e.g. "Demo Outfitters (WooCommerce)"
    health_path: str = "/__emulator/health"

    @property
    def port_env(self) -> str:
        """Environment variable overriding the port in demo mode, e.g. ``TRULYBOT_SHOPIFY_EMULATOR_PORT``."""
        return f"TRULYBOT_{self.name.upper()}_EMULATOR_PORT"

    def argv(
        self, python: str, host: str = "127.0.0.1", port: Optional[int] = None,
        orders: Optional[str] = None, latency_ms: Optional[float] = None,
    ) -> List[str]:
        """Command line that starts this emulator."""
        args = [python, "-m", self.module, "--host", host, "--port", str(port or self.default_port)]
        if orders:
            args += ["--orders", str(orders)]
        if latency_ms:
            args += ["--latency-ms", str(latency_ms)]
        return args

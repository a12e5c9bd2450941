"""Example TrulyBot platform plugin: a store whose orders live in a CSV file.

Everything a third-party platform needs: a :class:`~plugins.base.Platform` subclass and the
``register_platforms`` hook (plus ``register_carriers`` to show that hook), found through the
``trulybot`` entry point declared in this package's ``pyproject.toml``.
"""
from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any, Callable, Dict, List
from urllib.parse import unquote, urlsplit

from plugins import hookimpl
from plugins.base import Platform
from plugins.carriers import Carrier, find_carrier
from plugins.errors import MalformedResponse, OrderNotFound, StoreConfigError, StoreUnreachable
from plugins.model import LineItem, Order, OrderStatus, Shipment, ShipmentStatus
from plugins.text import (
    clean_text,
    clean_tracking_number,
    normalize_email,
    normalize_order_number,
    order_number_matches,
    parse_datetime,
    to_decimal,
    to_int,
)

SAMPLE = Path(__file__).with_name("sample_orders.csv")
SPEEDY = Carrier("speedy-local", "Speedy Local", "https://speedy-local.example/track/{number}", ("speedy",))


class CsvStorePlatform(Platform):
    """Orders from a CSV file named by ``base_url`` (``file:///...``; empty: the bundled sample)."""

    name = "csvstore"
    display_name = "CSV file"
    credential_fields = ()

    def _path(self) -> Path:
        url = self.store.base_url or ""
        if not url:
            return SAMPLE
        parts = urlsplit(url)
        if parts.scheme not in ("", "file"):
            raise StoreConfigError("csvstore needs a file:// URL", platform=self.name)
        return Path(unquote(parts.path))

    async def _rows(self) -> List[Dict[str, str]]:
        path = self._path()

        def read() -> List[Dict[str, str]]:
            with path.open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        try:
            return await asyncio.get_running_loop().run_in_executor(None, read)
        except OSError:
            raise StoreUnreachable("cannot read the CSV file", platform=self.name) from None
        except (csv.Error, UnicodeDecodeError):
            raise MalformedResponse("the CSV file is not readable CSV", platform=self.name) from None

    def _order(self, row: Dict[str, str]) -> Order:
        try:
            status = OrderStatus(row.get("status", "processing"))
        except ValueError:
            status = OrderStatus.PROCESSING
        shipments = []
        number = clean_tracking_number(row.get("tracking_number"))
        if number:
            carrier = find_carrier(row.get("carrier"))
            shipments.append(
                Shipment(
                    carrier=carrier.name if carrier else clean_text(row.get("carrier")),
                    carrier_code=carrier.code if carrier else None,
                    tracking_number=number,
                    tracking_url=carrier.tracking_url(number) if carrier else None,
                    status=ShipmentStatus.DELIVERED if status is OrderStatus.DELIVERED else ShipmentStatus.SHIPPED,
                )
            )
        created = parse_datetime(row.get("created_at"))
        return Order(
            platform=self.name,
            number=clean_text(row.get("number"), 40) or "?",
            platform_id=clean_text(row.get("number"), 40) or "?",
            status=status,
            status_label=status.value.replace("_", " ").capitalize(),
            created_at=created,
            updated_at=created,
            currency=clean_text(row.get("currency"), 3),
            total=to_decimal(row.get("total")),
            items=[LineItem(name=clean_text(row.get("item")) or "Item", quantity=to_int(row.get("quantity"), 1) or 1)],
            shipments=shipments,
            email=row.get("email"),
            billing_postcode=row.get("postcode"),
        )

    async def check_connection(self) -> Dict[str, Any]:
        rows = await self._rows()
        return {"platform": self.name, "name": self._path().name, "version": "1", "orders": len(rows)}

    async def get_order(self, number: str) -> Order:
        try:
            typed = normalize_order_number(number)
        except ValueError:
            raise OrderNotFound("not an order number", platform=self.name) from None
        for row in await self._rows():
            if order_number_matches(typed, row.get("number") or ""):
                return self._order(row)
        raise OrderNotFound("no order with that number", platform=self.name)

    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        address = normalize_email(email)
        if address is None:
            return []
        orders = [self._order(r) for r in await self._rows() if normalize_email(r.get("email")) == address]
        orders.sort(key=lambda o: o.created_at.timestamp() if o.created_at else 0.0, reverse=True)
        return orders[:limit]

    async def get_shipments(self, order: Order) -> List[Shipment]:
        return list(order.shipments)


@hookimpl
def register_platforms(register: Callable[[Any], None]) -> None:
    register(CsvStorePlatform)


@hookimpl
def register_carriers(register: Callable[[Any], None]) -> None:
    register(SPEEDY)

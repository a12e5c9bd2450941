"""Plugin manager: defaults, entry points, allow/block lists, caching, validation, drop-in package."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest

from plugins import manager
from plugins.manager import (
    DEFAULT_PLUGINS,
    UnknownPlatform,
    build_plugin_manager,
    get_plugin_manager,
    get_platform,
    get_platforms,
    plugin_names,
    reset_plugin_manager,
)

ROOT = Path(__file__).resolve().parents[2]
CSVSTORE = ROOT / "examples" / "trulybot-csvstore"


def _ep(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group="trulybot")


def test_defaults():
    assert DEFAULT_PLUGINS == ("plugins.woocommerce", "plugins.shopify")
    pm = get_plugin_manager()
    assert pm.project_name == "trulybot"
    assert plugin_names(pm)[:2] == ["woocommerce", "shopify"]


def test_manager_is_cached_until_reset():
    assert get_plugin_manager() is get_plugin_manager()
    first = get_plugin_manager()
    reset_plugin_manager()
    assert get_plugin_manager() is not first


def test_allow_list(monkeypatch):
    monkeypatch.setenv("TRULYBOT_PLUGINS", "shopify")
    reset_plugin_manager()
    assert set(get_platforms()) == {"shopify"}
    with pytest.raises(UnknownPlatform) as info:
        get_platform("woocommerce")
    assert "woocommerce" in str(info.value) and "shopify" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_empty_allow_list_loads_nothing():
    assert get_platforms(build_plugin_manager(env={"TRULYBOT_PLUGINS": ""}, entry_points=[])) == {}


def test_block_list(monkeypatch):
    monkeypatch.setenv("TRULYBOT_DISABLED_PLUGINS", " WooCommerce , nothing, bigcommerce, csvstore")  # csvstore: installed by make
    reset_plugin_manager()
    assert set(get_platforms()) == {"shopify"}


def test_unknown_platform_message():
    with pytest.raises(UnknownPlatform, match="unknown platform 'magento'"):
        get_platform("magento")


def test_blocked_entry_point_is_not_imported():
    broken = _ep("broken", "tests.plugins.no_such_module_xyz")
    pm = build_plugin_manager(env={"TRULYBOT_DISABLED_PLUGINS": "broken"}, entry_points=[broken])
    assert "broken" not in plugin_names(pm)
    with pytest.raises(ModuleNotFoundError):
        build_plugin_manager(env={}, entry_points=[broken])


def test_entry_point_with_a_builtin_name_is_ignored(caplog):
    pm = build_plugin_manager(env={}, entry_points=[_ep("woocommerce", "plugins.shopify")])
    assert plugin_names(pm) == ["woocommerce", "shopify"]
    assert "already registered" in caplog.text


def test_check_pending_catches_misspelt_hooks(tmp_path, monkeypatch):
    (tmp_path / "typo_plugin.py").write_text(textwrap.dedent('''
        from plugins import hookimpl

        @hookimpl
        def register_platfroms(register):
            pass
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(pluggy.PluginValidationError):
        build_plugin_manager(env={}, entry_points=[_ep("typo", "typo_plugin")])


def test_drop_in_package_via_entry_point_object(monkeypatch):
    """The example package is found through its ``trulybot`` entry point, nothing else changes."""
    monkeypatch.syspath_prepend(str(CSVSTORE))
    monkeypatch.setattr(manager, "_entry_points", lambda: [_ep("csvstore", "trulybot_csvstore")])
    reset_plugin_manager()
    assert "csvstore" in plugin_names()
    cls = get_platform("csvstore")
    assert cls.__module__ == "trulybot_csvstore"


async def test_drop_in_platform_works(monkeypatch):
    monkeypatch.syspath_prepend(str(CSVSTORE))
    monkeypatch.setattr(manager, "_entry_points", lambda: [_ep("csvstore", "trulybot_csvstore")])
    reset_plugin_manager()
    from plugins.http import StoreHttpClient
    from plugins.model import StoreConnection

    platform = get_platform("csvstore")(StoreConnection("csv", "csvstore", ""), StoreHttpClient())
    order = await platform.get_order("#csv-1001")
    assert order.matches_email("robin@example.com")
    assert order.shipments[0].tracking_url == "https://speedy-local.example/track/SL-0001"  # its own carrier hook
    assert [o.number for o in await platform.find_orders("ROBIN@example.com")] == ["CSV-1002", "CSV-1001"]
    assert (await platform.check_connection())["orders"] == 3


@pytest.mark.timeout(180)
def test_drop_in_package_installed_with_pip(tmp_path):
    """pip-install the example into a scratch target; a fresh interpreter's manager finds it."""
    target = tmp_path / "site"
    source = tmp_path / "src"  # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(CSVSTORE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--no-cache-dir", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=170, cwd=tmp_path,
    )
    if install.returncode != 0 and "setuptools" in (install.stderr + install.stdout).lower() and "no module" in install.stderr.lower():
        pytest.skip("setuptools is not available to build the example")
    assert install.returncode == 0, install.stderr[-2000:]
    assert list(target.glob("trulybot_csvstore-*.dist-info"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    env.pop("TRULYBOT_PLUGINS", None)
    env["TRULYBOT_DISABLED_PLUGINS"] = "bigcommerce"  # the package `make` installs into the venv
    code = "from plugins.manager import get_platforms; print(sorted(get_platforms()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert out.stdout.strip() == "['csvstore', 'shopify', 'woocommerce']", out.stderr[-2000:]
    env["TRULYBOT_DISABLED_PLUGINS"] = "csvstore,bigcommerce"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert out.stdout.strip() == "['shopify', 'woocommerce']", out.stderr[-2000:]


def test_plugins_import_nothing_from_bot_or_actions():
    for path in [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "packages").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for forbidden in ("import bot", "from bot", "import actions", "from actions"):
            assert forbidden not in text, f"{path.relative_to(ROOT)} uses {forbidden!r}"
    code = (
        "import sys, plugins.manager, plugins.testing, plugins.woocommerce.emulator, plugins.shopify.emulator;"
        "plugins.manager.get_platforms(); [__import__(s.module) for s in plugins.manager.get_emulators().values()];"
        "print([m for m in sys.modules if m.split('.')[0] in ('bot', 'actions')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]

"""Static checks of the storefront pieces: Shopify app config and theme app extension, the WordPress
plugin (linted with ``php -l``), the BigCommerce Script Manager snippet."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.support.stack import PROJECT

EXTENSION = PROJECT / "extensions" / "trulybot-widget"
PLUGIN = PROJECT / "wordpress" / "trulybot-chat" / "trulybot-chat.php"


def test_shopify_app_embed_block_adds_the_script_tag():
    toml = (EXTENSION / "shopify.extension.toml").read_text()
    assert re.search(r'^type = "theme"$', toml, re.M) and re.search(r"^name = ", toml, re.M)
    blocks = list((EXTENSION / "blocks").glob("*.liquid"))
    assert blocks
    liquid = blocks[0].read_text()
    schema = json.loads(liquid.split("{% schema %}")[1].split("{% endschema %}")[0])
    assert schema["target"] == "body"  # an app embed block
    assert {s["id"] for s in schema["settings"]} == {"widget_id", "bot_url"}
    tag = re.search(r"<script [^>]*>", liquid).group(0)
    assert "/api/widget/shopify.js" in tag and 'data-widget-id="{{ widget_id | escape }}"' in tag and " async" in tag


def test_wordpress_plugin_is_one_file_that_enqueues_the_widget():
    php = PLUGIN.read_text()
    assert php.startswith("<?php") and "Plugin Name:" in php
    assert sorted(p.name for p in PLUGIN.parent.iterdir()) == ["readme.txt", "trulybot-chat.php", "uninstall.php"]
    assert "/api/widget/woocommerce.js" in php and "'strategy' => 'async'" in php
    assert "data-widget-id=\"' . esc_attr(" in php
    assert "ABSPATH" in php and "sanitize_callback" in php and "manage_options" in php


def test_shopify_block_reads_only_its_settings():
    """No code writes app metafields, so the block must not depend on them."""
    liquid = next((EXTENSION / "blocks").glob("*.liquid")).read_text()
    assert "metafields" not in liquid
    assert "metafield" not in (PROJECT / "extensions" / "README.md").read_text()


def test_shopify_app_toml_matches_the_merchant_api():
    tomli = pytest.importorskip("tomli")
    from plugins.shopify.client import DEFAULT_API_VERSION, ShopifyPlatform
    from plugins.shopify.oauth import DEFAULT_SCOPES

    app = tomli.loads((PROJECT / "shopify.app.toml").read_text())
    assert app["access_scopes"]["scopes"].split(",") == list(DEFAULT_SCOPES)
    [scopes] = [s for s in ShopifyPlatform.app_settings if s.name == "scopes"]
    assert scopes.default == ",".join(DEFAULT_SCOPES)
    assert app["webhooks"]["api_version"] == DEFAULT_API_VERSION
    assert [u.split("/", 3)[3] for u in app["auth"]["redirect_urls"]] == ["api/integrations/shopify/callback"]
    [privacy] = app["webhooks"]["subscriptions"]
    assert set(privacy["compliance_topics"]) == {"customers/data_request", "customers/redact", "shop/redact"}
    assert privacy["uri"].endswith("/api/webhooks/shopify")


def test_wordpress_readme_and_uninstall():
    readme = (PLUGIN.parent / "readme.txt").read_text()
    header = re.search(r"^Stable tag: (\S+)$", readme, re.M)
    version = re.search(r"^ \* Version:\s+(\S+)$", PLUGIN.read_text(), re.M)
    assert readme.startswith("=== TrulyBot Order Help Chat ===") and header and version and header.group(1) == version.group(1)
    for section in ("== Description ==", "== Installation ==", "== Changelog =="):
        assert section in readme
    uninstall = (PLUGIN.parent / "uninstall.php").read_text()
    assert "WP_UNINSTALL_PLUGIN" in uninstall and "delete_option( 'trulybot_chat' )" in uninstall
    assert "const TRULYBOT_OPTION = 'trulybot_chat';" in PLUGIN.read_text()  # the option uninstall removes


def _php() -> str:
    php = shutil.which("php")
    if php is None:
        if os.environ.get("CI"):
            pytest.fail("php is not installed (.ci/run installs Debian's php-cli)")
        pytest.skip("php is not installed (Debian: apt-get install php-cli); CI runs this check")
    return php


@pytest.mark.parametrize("name", ["trulybot-chat.php", "uninstall.php"])
def test_wordpress_plugin_passes_php_lint(name):
    result = subprocess.run([_php(), "-l", str(PLUGIN.parent / name)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax errors detected" in result.stdout


def test_php_lint_catches_a_syntax_error(tmp_path):
    """The lint above can fail: a broken file is reported."""
    broken = tmp_path / "broken.php"
    broken.write_text("<?php\nfunction ( {\n")
    result = subprocess.run([_php(), "-l", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0

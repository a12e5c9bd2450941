"""Static checks of the platform glue: Shopify theme app extension and the WordPress plugin."""
from __future__ import annotations

import json
import re

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
    assert list(PLUGIN.parent.iterdir()) == [PLUGIN]
    assert "/api/widget/woocommerce.js" in php and "'strategy' => 'async'" in php
    assert "data-widget-id=\"' . esc_attr(" in php
    assert "ABSPATH" in php and "sanitize_callback" in php and "manage_options" in php

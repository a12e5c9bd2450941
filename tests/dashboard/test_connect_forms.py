"""The stores page's connect forms are made from each platform's connection schema: one template renders
any platform's fields (labels, help, secrets as password inputs, choices, yes/no), one button per flow;
service errors become messages next to the fields; no Python module of the dashboard names a platform."""
from __future__ import annotations

import re
from pathlib import Path

from bot.dashboard import connect
from bot.dashboard.web import TEMPLATES
from bot.services.errors import FieldInvalid, StoreCallFailed
from plugins.integration import ConnectFlow, ConnectionSchema, Field, FieldRole, FieldType
from tests.dashboard.conftest import form_id_of

ROOT = Path(__file__).resolve().parents[2]

SCHEMA = ConnectionSchema(
    fields=(
        Field("shop_url", "Shop address", FieldType.URL, FieldRole.BASE_URL, help="Where your shop lives."),
        Field("api_key", "API key", FieldType.PASSWORD, FieldRole.CREDENTIAL, help="Settings → API.",
              pattern=r"k_[a-z0-9]{8,}", pattern_hint="API keys start with k_"),
        Field("region", "Region", FieldType.CHOICE, FieldRole.OPTION, choices=("eu", "us"), required=False),
        Field("sandbox", "Sandbox store", FieldType.BOOLEAN, FieldRole.OPTION, required=False),
    ),
    flows=(ConnectFlow.API_KEYS, ConnectFlow.INSTALL_REDIRECT),
    flow_fields={ConnectFlow.INSTALL_REDIRECT: ("shop_url",)},
    flow_labels={ConnectFlow.API_KEYS: "Paste an API key", ConnectFlow.INSTALL_REDIRECT: "Install the app"},
)
PLATFORM = {"name": "acme", "display_name": "Acme Commerce", "connection": SCHEMA.describe(), "webhooks": False}


def _render(**kw):
    forms = connect.connect_forms([PLATFORM], **kw)
    return TEMPLATES.get_template("stores.html").render(
        merchant={"name": "M", "role": "owner"}, csrf="c", path="/dashboard/stores", nav="stores", stores=[],
        connect_forms=forms, reconnect=None, done=None, form_id="f")


def test_any_platforms_schema_renders_as_one_form():
    page = _render()
    assert 'id="connect-acme"' in page and 'action="/dashboard/stores/acme"' in page
    assert "Connect an Acme Commerce store" in page
    assert re.search(r'<label for="acme-api_key">API key</label>', page)
    assert re.search(r'<input id="acme-api_key" name="api_key" type="password" value=""', page)
    assert 'id="acme-api_key-hint">Settings → API.' in page and 'aria-describedby="acme-api_key-hint"' in page
    assert '<select id="acme-region" name="region"' in page and '<option value="us">us</option>' in page
    assert 'Region (optional)' in page
    assert 'name="sandbox" type="checkbox" value="true"' in page
    assert 'name="shop_url" type="url"' in page
    buttons = re.findall(r'<button type="submit" name="method" value="([a-z_]+)"[^>]*>([^<]+)</button>', page)
    assert buttons == [("api_keys", "Connect"), ("install_redirect", "Install on Acme Commerce")]
    assert "Paste an API key" in page and "Install the app" in page


def test_errors_are_next_to_their_field_values_kept_secrets_not_echoed():
    form = {"shop_url": "https://acme.example", "api_key": "k_secretsecret", "region": "eu", "method": "api_keys"}
    values = connect.kept_values(PLATFORM, form)
    assert values == {"shop_url": "https://acme.example", "region": "eu"}
    errors = connect.form_errors(PLATFORM, FieldInvalid("api_key: API keys start with k_",
                                                        details=[{"field": "api_key", "message": "API keys start with k_"}]))
    page = _render(active="acme", values=values, errors=errors)
    assert 'id="acme-api_key-error" role="alert">API keys start with k_.</p>' in page
    assert 'value="https://acme.example"' in page and "k_secretsecret" not in page
    assert '<option value="eu" selected>' in page


def test_service_errors_map_to_fields():
    required = FieldInvalid("shop_url: is required", details=[{"field": "shop_url", "message": "is required"}])
    assert connect.form_errors(PLATFORM, required) == {"shop_url": "Enter your shop address."}
    secret = FieldInvalid("api_key: is required", details=[{"field": "api_key", "message": "is required"}])
    assert connect.form_errors(PLATFORM, secret) == {"api_key": "Paste your API key."}
    refused = StoreCallFailed(422, "store_auth", "the store rejected the credentials")
    assert connect.form_errors(PLATFORM, refused)["api_key"].startswith("Acme Commerce rejected these credentials")
    down = StoreCallFailed(502, "store_unreachable", "the store did not answer (could not connect)")
    assert connect.form_errors(PLATFORM, down) == {"shop_url": "The store did not answer (could not connect)"}
    unknown = FieldInvalid("colour: is not a field", details=[{"field": "colour", "message": "is not a field"}])
    assert connect.form_errors(PLATFORM, unknown) == {"form": "Colour: is not a field."}


def test_submitted_takes_only_the_chosen_flows_fields():
    form = {"shop_url": " https://acme.example ", "api_key": "k_x", "region": "", "display_name": "Mine"}
    assert connect.submitted(PLATFORM, {**form, "method": "install_redirect"}) == {
        "method": "install_redirect", "shop_url": "https://acme.example", "display_name": "Mine"}
    assert connect.submitted(PLATFORM, {**form, "method": "api_keys"}) == {
        "method": "api_keys", "shop_url": "https://acme.example", "api_key": "k_x", "sandbox": "false",
        "display_name": "Mine"}


async def test_the_stores_page_has_a_form_per_installed_platform(dash):
    from plugins.manager import get_platforms

    page = await dash.page("/dashboard/stores")
    for name, cls in get_platforms().items():
        assert f'id="connect-{name}"' in page and f'action="/dashboard/stores/{name}"' in page
        for f in cls.connection_schema.fields:
            assert f'id="{name}-{f.name}"' in page
    form_id_of(page)


async def test_unknown_platform_form_is_not_found(dash):
    resp = await dash.post("/dashboard/stores/magento", {"x": "y"}, form_id="u1")
    assert resp.status == 404


def test_dashboard_and_integrations_api_name_no_platform():
    from plugins.manager import get_platforms

    names = sorted(set(get_platforms()) | {"woocommerce", "shopify", "bigcommerce"})
    pattern = re.compile("|".join(names), re.IGNORECASE)
    files = sorted((ROOT / "bot" / "dashboard").glob("*.py")) + [ROOT / "bot" / "api" / "integrations.py",
                                                                  ROOT / "bot" / "services" / "integrations.py"]
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in files
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []

"""The connect forms of the stores page, made from each installed platform's connection schema.

:func:`connect_forms` describes one form per platform for ``stores.html``: its fields (label, help,
input type, choices; secret fields as password inputs that never show a value back) and one button
per connect flow. :func:`form_errors` turns a service error into messages next to the fields:
a :class:`~bot.services.errors.FieldInvalid` next to its field, a store's refusal next to the
field it concerns (credentials or the store's address), anything else above the form.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from bot.services.errors import ApiError, FieldInvalid, StoreCallFailed

#: the form's own field next to the platform's fields
DISPLAY_NAME = "display_name"
#: where an error that belongs to no field is shown
FORM = "form"
#: store error codes that mean the credentials were refused
CREDENTIAL_CODES = frozenset({"store_auth", "credentials_rejected", "keys_rejected"})
_INPUT_TYPES = {"password": "password", "url": "url", "text": "text", "domain": "text"}
_ROLE_ADDRESS = ("base_url", "shop_domain")


def _button(flow: str, display_name: str) -> str:
    if flow == "authorization_callback":
        return f"Approve in {display_name}"
    if flow == "install_redirect":
        return f"Install on {display_name}"
    return "Connect"


def _field_view(platform: str, f: Dict[str, Any], values: Mapping[str, str], errors: Mapping[str, str]) -> Dict[str, Any]:
    secret = bool(f.get("secret"))
    kind = "password" if secret else _INPUT_TYPES.get(f["type"], "text")
    if f["type"] == "choice":
        kind = "select"
    elif f["type"] == "boolean":
        kind = "checkbox"
    return {
        "name": f["name"], "id": f"{platform}-{f['name']}", "label": f["label"] + ("" if f.get("required") else " (optional)"),
        "help": f.get("help") or "", "kind": kind, "secret": secret, "required": bool(f.get("required")),
        "placeholder": f.get("placeholder") or "", "choices": list(f.get("choices") or []),
        "max_length": f.get("max_length") or 500,
        "value": "" if secret else (values.get(f["name"]) or f.get("default") or ""),
        "error": errors.get(f["name"]),
    }


def connect_forms(platforms: List[Dict[str, Any]], *, active: Optional[str] = None, values: Optional[Mapping[str, str]] = None,
                  errors: Optional[Mapping[str, str]] = None, reconnect: Optional[Dict[str, Any]] = None
                  ) -> List[Dict[str, Any]]:
    """One form per platform of :func:`bot.services.platforms.describe_platforms`. ``active`` names
    the platform whose submitted ``values`` and ``errors`` are shown again; ``reconnect`` is a store
    whose platform form is titled "Reconnect …" and pre-filled with its address."""
    forms = []
    for p in platforms:
        name, display = p["name"], p["display_name"]
        conn = p["connection"]
        mine = name == active
        shown_values: Dict[str, str] = dict(values or {}) if mine else {}
        shown_errors: Dict[str, str] = dict(errors or {}) if mine else {}
        if reconnect and reconnect.get("platform") == name and not mine:
            for f in conn["fields"]:
                if f["role"] == "base_url" and reconnect.get("store_url"):
                    shown_values[f["name"]] = reconnect["store_url"]
                elif f["role"] == "shop_domain" and reconnect.get("shop_domain"):
                    shown_values[f["name"]] = reconnect["shop_domain"]
        fields = {f["name"]: _field_view(name, f, shown_values, shown_errors) for f in conn["fields"]}
        flow_fields = {flow: conn["flow_fields"].get(flow, [f["name"] for f in conn["fields"]]) for flow in conn["flows"]}
        common = [n for n in fields if all(n in names for names in flow_fields.values())]
        flows = [{"value": flow, "label": conn["flow_labels"].get(flow, ""), "button": _button(flow, display),
                  "fields": [fields[n] for n in flow_fields[flow] if n not in common and n in fields]}
                 for flow in conn["flows"]]
        title = (f"Reconnect {reconnect['display_name']}" if reconnect and reconnect.get("platform") == name
                 else f"Connect {'an' if display[:1].lower() in 'aeiou' else 'a'} {display} store")
        forms.append({
            "platform": name, "display_name": display, "title": title, "action": f"/dashboard/stores/{name}",
            "fields": [fields[n] for n in common], "flows": flows, "several": len(flows) > 1,
            "display_name_field": {"name": DISPLAY_NAME, "id": f"{name}-{DISPLAY_NAME}", "value": shown_values.get(DISPLAY_NAME, ""),
                                   "error": shown_errors.get(DISPLAY_NAME)},
            "error": shown_errors.get(FORM), "reconnecting": bool(reconnect and reconnect.get("platform") == name),
        })
    return forms


def submitted(platform: Dict[str, Any], form: Mapping[str, str]) -> Dict[str, Any]:
    """The connect request for the service from a submitted form: the chosen flow (``method``),
    the non-empty values of that flow's fields and the display name."""
    conn = platform["connection"]
    method = form.get("method") or conn["flows"][0]
    names = conn["flow_fields"].get(method, [f["name"] for f in conn["fields"]])
    kinds = {f["name"]: f["type"] for f in conn["fields"]}
    body: Dict[str, Any] = {"method": method}
    for name in names:
        value = (form.get(name) or "").strip()
        if kinds.get(name) == "boolean":
            value = "true" if value else "false"
        if value:
            body[name] = value
    if (form.get(DISPLAY_NAME) or "").strip():
        body[DISPLAY_NAME] = form[DISPLAY_NAME].strip()[:200]
    return body


def kept_values(platform: Dict[str, Any], form: Mapping[str, str]) -> Dict[str, str]:
    """What the form shows again after an error: every non-secret value as submitted."""
    secret = {f["name"] for f in platform["connection"]["fields"] if f.get("secret")}
    names = [f["name"] for f in platform["connection"]["fields"]] + [DISPLAY_NAME]
    return {n: (form.get(n) or "").strip() for n in names if n not in secret and form.get(n)}


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?", ")")) else ".")


def _field_message(f: Dict[str, Any], message: str) -> str:
    if message == "is required":
        verb = "Paste your" if f.get("secret") else "Enter your"
        label = f["label"]
        if label[1:2].islower():  # "Store address" -> "store address"; "API key" stays
            label = label[0].lower() + label[1:]
        return f"{verb} {label}."
    if message == "has an invalid format" and f.get("pattern_hint"):
        return _sentence(f["pattern_hint"])
    return _sentence(message)


def form_errors(platform: Dict[str, Any], exc: ApiError, method: Optional[str] = None) -> Dict[str, str]:
    """Field name (or :data:`FORM`) → message for an error the service raised while connecting."""
    conn = platform["connection"]
    fields = {f["name"]: f for f in conn["fields"]}
    in_flow = conn["flow_fields"].get(method or conn["flows"][0], list(fields))
    errors: Dict[str, str] = {}
    if isinstance(exc, FieldInvalid):
        for name, message in exc.fields.items():
            top = name.split("/")[0]
            if top in fields:
                errors.setdefault(top, _field_message(fields[top], message))
            elif top == DISPLAY_NAME:
                errors.setdefault(top, _sentence(message))
            else:
                errors.setdefault(FORM, _sentence(f"{top}: {message}"))
        if not errors:
            errors[FORM] = _sentence(exc.message)
        return errors
    if isinstance(exc, StoreCallFailed):
        if exc.code in CREDENTIAL_CODES:
            target = next((n for n in in_flow if fields.get(n, {}).get("role") == "credential"), None)
            message = (f"{platform['display_name']} rejected these credentials. Check them, and that they have the "
                       f"permissions the help text names.")
        else:
            target = next((n for n in in_flow if fields.get(n, {}).get("role") in _ROLE_ADDRESS), None)
            message = _sentence(exc.message)
        errors[target or FORM] = message
        return errors
    errors[FORM] = _sentence(exc.message)
    return errors

"""``GET /api/openapi.json``: the OpenAPI 3.0 document, generated from the route table."""
from __future__ import annotations

import copy
from typing import Any, Dict

from aiohttp import web

from bot.api.registry import ROUTES, route

_nullable_str = {"type": "string", "nullable": True}

COMPONENTS: Dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}}}}},
    },
    "Store": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "widget_id": {"type": "string"}, "platform": {"type": "string"},
            "display_name": {"type": "string"}, "store_url": _nullable_str, "shop_domain": _nullable_str,
            "status": {"type": "string", "enum": ["active", "disabled", "error", "pending"]},
            "created_at": _nullable_str, "updated_at": _nullable_str,
            "health": {"type": "object", "properties": {
                "credentials_valid": {"type": "boolean", "nullable": True}, "last_success_at": _nullable_str,
                "last_error": _nullable_str, "last_error_code": _nullable_str, "last_error_at": _nullable_str, "last_checked_at": _nullable_str,
                "consecutive_failures": {"type": "integer"}, "next_check_at": _nullable_str}},
            "webhooks": {"type": "object", "properties": {"topics": {"type": "array", "items": {"type": "string"}},
                                                          "error": _nullable_str}},
        },
    },
    "StoreList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Store"}}}},
    "Deleted": {"type": "object", "properties": {"deleted": {"type": "integer"}, "store": {"$ref": "#/components/schemas/Store"}}},
    "AuthorizationStart": {"type": "object", "description": "an authorization-callback flow started: a pending store",
                           "properties": {"authorize_url": {"type": "string"}, "expires_at": {"type": "string"},
                                          "store": {"$ref": "#/components/schemas/Store"}}},
    "InstallStart": {"type": "object", "description": "an install redirect started (the signed state cookie is set)",
                     "properties": {"install_url": {"type": "string"}, "expires_at": {"type": "integer"},
                                    "shop": {"type": "string"}}},
    "Redirect": {"type": "string", "description": "empty; see the Location header"},
    "ConnectResult": {"description": "the connected store (API keys) or the started install redirect",
                      "oneOf": [{"$ref": "#/components/schemas/Store"}, {"$ref": "#/components/schemas/InstallStart"}]},
    "PlatformList": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "display_name": {"type": "string"}, "webhooks": {"type": "boolean"},
        "connection": {"type": "object", "description": "fields (name, label, type, role, secret, required, help, "
                       "pattern, pattern_hint, choices, ...), flows, flow_fields, flow_labels"}}}}}},
    "Ok": {"type": "object", "properties": {"status": {"type": "string"}}},
    "DataRequestExport": {"type": "object", "description": "What TrulyBot holds about one customer (a file download)",
                          "properties": {"store": {"type": "string"}, "data_request_id": {"type": "string"},
                                         "orders_requested": {"type": "integer"},
                                         "activity_entries": {"type": "array", "items": {"type": "object"}},
                                         "transcripts": {"type": "object"}, "note": {"type": "string"}}},
    "WebhookAck": {"type": "object", "properties": {"status": {"type": "string",
                                                               "enum": ["accepted", "duplicate", "ignored", "pong"]}}},
    "Order": {"type": "object", "description": "normalized order (no email, postcode or internal id)"},
    "OrderResult": {"type": "object", "properties": {"store_id": {"type": "integer"}, "order": {"$ref": "#/components/schemas/Order"}}},
    "OrderSearch": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {
        "store_id": {"type": "integer"}, "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
        "error": {"type": "object", "nullable": True}}}}}},
    "WidgetConfig": {"type": "object"},
    "Activity": {"type": "object", "properties": {
        "id": {"type": "integer"}, "store_id": {"type": "integer", "nullable": True}, "type": {"type": "string"},
        "title": {"type": "string"}, "details": {"type": "object"}, "created_at": {"type": "string"}}},
    "ActivityPage": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Activity"}}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}, "has_more": {"type": "boolean"}}},
    "Html": {"type": "string"},
    "Handoff": {"type": "object", "properties": {
        "id": {"type": "integer"}, "store_id": {"type": "integer"}, "conversation_id": {"type": "string"},
        "state": {"type": "string", "enum": ["waiting", "active", "ticket", "closed"]}, "reason": {"type": "string"},
        "agent": {"type": "object", "nullable": True}, "context": {"type": "object"},
        "email": {"type": "string", "nullable": True}, "question": {"type": "string", "nullable": True},
        "resolution": {"type": "string", "nullable": True}, "requested_at": {"type": "string"},
        "claimed_at": {"type": "string", "nullable": True}, "first_reply_at": {"type": "string", "nullable": True},
        "last_shopper_at": {"type": "string", "nullable": True}, "closed_at": {"type": "string", "nullable": True},
        "store": {"type": "object"}}},
    "HandoffList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Handoff"}}}},
    "HandoffChange": {"type": "object", "properties": {"handoff": {"$ref": "#/components/schemas/Handoff"}}},
    "HandoffConversation": {"type": "object", "properties": {
        "handoff": {"$ref": "#/components/schemas/Handoff"},
        "transcript": {"type": "array", "items": {"type": "object"}}, "facts": {"type": "object"}}},
}

#: public routes under /api that the widget gateway (bot/gateway) serves; documented here so the
#: document covers every /api route (tests/api/test_openapi.py checks it against the router)
GATEWAY_ROUTES: Dict[str, Any] = {
    "/api/widget/config/{widget_id}": {
        "operationId": "widget_public_config", "summary": "Public widget configuration (served by the gateway)",
        "tags": ["widget"], "security": [],
        "parameters": [{"name": "widget_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "404": {"description": "Unknown widget", "content": {"application/json": {"schema": {"type": "object"}}}}},
    },
    "/api/widget/{platform}.js": {
        "operationId": "widget_loader", "summary": "Widget loader named by an installed platform's storefront snippet (gateway)",
        "tags": ["widget"], "security": [],
        "parameters": [{"name": "platform", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}],
        "responses": {"200": {"description": "OK", "content": {"text/javascript": {"schema": {"type": "string"}}}},
                      "404": {"description": "No such platform installed", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    },
}

_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad request (e.g. malformed JSON)",
                401: "Missing, malformed, invalid or revoked credentials", 403: "Forbidden", 404: "Not found",
                409: "Conflict", 413: "Body too large", 415: "Unsupported media type", 422: "Validation error",
                429: "Rate limited", 502: "The store failed", 503: "Database unavailable (Retry-After)"}


def _to_openapi_schema(schema: Dict[str, Any]) -> Dict[str, Any]:
    """JSON Schema (draft 7) → OpenAPI 3.0 schema: ``type: [x, "null"]`` becomes ``nullable``."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            t = node.get("type")
            if isinstance(t, list):
                kinds = [k for k in t if k != "null"]
                if "null" in t:
                    node["nullable"] = True
                if len(kinds) == 1:
                    node["type"] = kinds[0]
                else:
                    node.pop("type")
                    node["oneOf"] = [{"type": k} for k in kinds]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def build_spec(public_url: str = "") -> Dict[str, Any]:
    paths: Dict[str, Any] = {}
    for r in ROUTES:
        op: Dict[str, Any] = {"operationId": r.operation_id, "summary": r.summary, "tags": [r.tag]}
        if r.auth == "bearer":
            op["security"] = [{"bearerAuth": []}]
        else:
            op["security"] = []
            op["description"] = {"hmac": "Authenticated by an HMAC signature of the raw body.",
                                 "state": "Authenticated by the single-use state issued when the flow started.",
                                 "cookie": "Authenticated by the platform's check of the query (e.g. its signature) and the signed state cookie.",
                                 "none": "Public."}.get(r.auth, "")
        params = []
        for p in r.params:
            params.append({"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                           "schema": _to_openapi_schema(p.schema), **({"description": p.description} if p.description else {})})
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {r.body_content_type: {"schema": _to_openapi_schema(r.body)}}}
        responses: Dict[str, Any] = {}
        codes = dict(r.responses)
        if r.auth == "bearer":
            codes.setdefault(401, "Error")
        if r.body is not None:
            codes.setdefault(400, "Error")
            codes.setdefault(413, "Error")
        codes.setdefault(503, "Error")
        for status, schema_name in sorted(codes.items()):
            ctype = r.response_content_type if schema_name == "Html" else "application/json"
            if schema_name == "Error" or status >= 400 and schema_name != "Html":
                ctype, schema_name = "application/json", "Error"
            responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Response"),
                                      "content": {ctype: {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}
        op["responses"] = responses
        paths.setdefault(r.path, {})[r.method.lower()] = op
    for path, op in GATEWAY_ROUTES.items():
        paths[path] = {"get": copy.deepcopy(op)}
    paths["/metrics"] = {"get": {"operationId": "metrics", "tags": ["operations"],
                                 "summary": "Prometheus metrics (text format); bearer TRULYBOT_METRICS_TOKEN, or loopback only",
                                 "security": [], "responses": {"200": {"description": "OK", "content": {
                                     "text/plain": {"schema": {"type": "string"}}}},
                                     "401": {"description": "no or wrong metrics token (or not loopback)"}}}}
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "TrulyBot merchant API", "version": "1.0.0",
                 "description": "Connect stores, configure the widget, read the activity log. Errors are "
                                "{\"error\": {\"code\", \"message\"}}. See docs/api.md."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": COMPONENTS,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "merchant API token (trulybot merchants token create)"}}},
        "security": [{"bearerAuth": []}],
    }
    if public_url:
        spec["servers"] = [{"url": public_url}]
    return spec


@route("GET", "/api/openapi.json", summary="This OpenAPI document", tag="operations", auth="none",
       responses={200: "Ok"})
async def openapi_json(request: web.Request) -> web.Response:
    from bot.services.keys import API_CONFIG

    return web.json_response(build_spec(request.app[API_CONFIG].public_url), headers={"Cache-Control": "no-cache"})


"""The OpenAPI document against the implementation.

* every documented operation exists in the router and every /api route (and /metrics) is documented;
* every ``$ref`` resolves and every request body schema is a valid JSON Schema;
* property-style fuzzing (schemathesis is the model; it is not installed): for every operation,
  invalid inputs are generated from its schema — wrong types, missing required fields, values past
  every bound, pattern and enum violations, unknown fields, malformed JSON, bad query and path
  parameters — and sent with and without a valid token. No answer may be a 5xx, and every error
  under /api is a JSON ``{"error": {"code", "message"}}`` (except the HTML pages for browsers).
"""
from __future__ import annotations

import json
import random
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from jsonschema import Draft7Validator

from bot.api.openapi import build_spec

SEED = 20261124
HTML_OPERATIONS = {"install_callback", "authorization_return"}
WEIRD = ["", " ", "\x00", "ü" * 3, "☃", "../../etc/passwd", "<script>", "' OR 1=1 --", "%00", "a" * 5000, "-1", "1e999",
         "NaN", "null", "[]", "{}", "#", "0x10", "١٢٣"]


def _route_table(app) -> set:
    table = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or not (path.startswith("/api/") or path == "/metrics"):
            continue
        table.add((route.method.lower(), path))
    return table


async def test_spec_matches_router(make_api):
    client = await make_api()
    spec = await (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.0")
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    implemented = _route_table(client.app)
    assert documented - implemented == set(), "documented but not implemented"
    assert implemented - documented == set(), "implemented but not documented"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] and op["summary"] and op["responses"], (method, path)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(spec):
        name = ref.rsplit("/", 1)[-1]
        assert ref.startswith("#/components/schemas/") and name in spec["components"]["schemas"], ref


def test_body_schemas_are_valid_json_schema():
    from bot.api.registry import ROUTES

    for route in ROUTES:
        if route.body is not None:
            Draft7Validator.check_schema(route.body)


# --- generation of invalid inputs ----------------------------------------------------------------

def _wrong_types(schema: Dict[str, Any]) -> List[Any]:
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    samples = {"string": "text", "integer": 7, "number": 1.5, "boolean": True, "array": [1], "object": {"a": 1}, "null": None}
    out = [v for k, v in samples.items() if k not in kinds and not (k == "integer" and "number" in kinds)]
    return out + [2**70, -(2**70), 1e308, [[[[[]]]]]]


def _edge_values(schema: Dict[str, Any], rng: random.Random) -> List[Any]:
    values = _wrong_types(schema)
    if "maxLength" in schema:
        values.append("x" * (schema["maxLength"] + 1))
    if schema.get("minLength"):
        values.append("x" * (schema["minLength"] - 1))
    if "pattern" in schema or "enum" in schema:
        values += [rng.choice(WEIRD) for _ in range(4)]
    if "minimum" in schema:
        values.append(schema["minimum"] - 1)
    if "maximum" in schema:
        values.append(schema["maximum"] + 1)
    if "maxItems" in schema:
        values.append(["https://a.example"] * (schema["maxItems"] + 1))
    if schema.get("type") == "array" and "items" in schema:
        values += [[v] for v in _wrong_types(schema["items"])[:4]]
    if schema.get("type") == "object" and "properties" in schema:
        values.append({"not_a_field": 1})
        for name, sub in schema["properties"].items():
            values += [{name: v} for v in _wrong_types(sub)[:3]]
    return values


def _valid_sample(schema: Dict[str, Any]) -> Any:
    """A plausible value, to build bodies where exactly one field is wrong."""
    if "enum" in schema:
        return schema["enum"][0]
    kinds = schema.get("type")
    kind = kinds[0] if isinstance(kinds, list) else kinds
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "ab"


def invalid_bodies(schema: Dict[str, Any], rng: random.Random) -> List[Tuple[str, bytes]]:
    out: List[Tuple[str, bytes]] = [
        ("not json", b"{\"a\": "), ("empty", b""), ("array", b"[]"), ("string", b"\"x\""), ("null", b"null"),
        ("number", b"1e400"), ("deep", b"[" * 5000 + b"]" * 5000), ("bad utf8", b"{\"a\": \"\xff\"}"),
        ("nested", json.dumps({"a": {"b": {"c": [1, {"d": None}]}}}).encode()),
    ]
    props = schema.get("properties", {})
    base = {name: _valid_sample(sub) for name, sub in props.items() if name in schema.get("required", [])}
    out.append(("missing required", b"{}"))
    for name, sub in props.items():
        for value in _edge_values(sub, rng):
            out.append((f"{name}={str(value)[:20]!r}", json.dumps({**base, name: value}).encode()))
    out.append(("extra field", json.dumps({**base, "zzz_unknown": True}).encode()))
    return out


def invalid_queries(params: List[Dict[str, Any]], rng: random.Random) -> List[Dict[str, str]]:
    queries: List[Dict[str, str]] = [{}]
    for param in params:
        if param["in"] != "query":
            continue
        for value in WEIRD + ["99999999999999999999", "0", "-5", "1.5", "true"]:
            queries.append({param["name"]: value})
    rng.shuffle(queries)
    return queries


def _operations(spec: Dict[str, Any]) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


async def test_generated_invalid_inputs_never_produce_5xx(env, make_api, woo):
    rng = random.Random(SEED)
    client = await make_api()
    merchant = env.merchant()
    store = await (await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})).json()
    spec = await (await client.get("/api/openapi.json")).json()
    failures: List[str] = []
    sent = 0

    async def send(method: str, path: str, op: Dict[str, Any], *, body: bytes = None, query=None, auth=True, label=""):
        nonlocal sent
        headers = dict(merchant.headers) if auth else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        resp = await client.request(method.upper(), path, data=body, params=query, headers=headers)
        sent += 1
        text = await resp.text()
        if resp.status >= 500:
            failures.append(f"{method.upper()} {path} {label}: {resp.status} {text[:200]}")
        elif resp.status >= 400 and path.startswith("/api/") and op["operationId"] not in HTML_OPERATIONS \
                and not op["operationId"].startswith("widget_"):
            try:
                error = json.loads(text)["error"]
                assert isinstance(error["code"], str) and isinstance(error["message"], str)
            except (ValueError, KeyError, TypeError, AssertionError):
                failures.append(f"{method.upper()} {path} {label}: {resp.status} non-JSON error {text[:100]}")

    for method, path, op in _operations(spec):
        path_values = {"platform": ["woocommerce", "shopify", "magento", "%2e%2e"], "id": [str(store["id"]), "0", "abc", "9" * 30],
                       "widget_id": [store["widget_id"], "nope", "a" * 100]}
        concrete = [path]
        for name, values in path_values.items():
            if "{" + name + "}" in path:
                concrete = [c.replace("{" + name + "}", v) for c in concrete for v in values]
        for target in concrete:
            for auth in (True, False):
                for query in invalid_queries(op.get("parameters", []), rng)[:12]:
                    await send(method, target, op, query=query, auth=auth, label=f"query={query}")
                if "requestBody" in op:
                    schema = op["requestBody"]["content"]["application/json"]["schema"]
                    bodies = invalid_bodies(_draft7(schema), rng)
                    for label, body in bodies if auth else bodies[:5]:
                        await send(method, target, op, body=body, auth=auth, label=label)
    assert sent > 500
    assert not failures, "\n".join(failures[:30])


def _draft7(schema: Dict[str, Any]) -> Dict[str, Any]:
    """OpenAPI ``nullable`` back to JSON Schema types (for generation only)."""
    out = json.loads(json.dumps(schema))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.pop("nullable", False) and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


@pytest.mark.parametrize("method,path", [("GET", "/api/integrations"), ("POST", "/api/webhooks/shopify")])
async def test_error_body_shape(make_api, method, path):
    client = await make_api()
    resp = await client.request(method, path)
    body = await resp.json()
    assert resp.status in (400, 401) and set(body["error"]) >= {"code", "message"}


def test_spec_builds_without_app():
    spec = build_spec("https://bot.example")
    assert spec["servers"] == [{"url": "https://bot.example"}]
    assert "/api/integrations" in spec["paths"] and "/metrics" in spec["paths"]

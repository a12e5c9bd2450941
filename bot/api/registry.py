"""One table of every API route: it registers the handlers and generates the OpenAPI document,
so the two cannot drift apart (tests/api/test_openapi.py checks the router against the spec)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Param:
    """A path or query parameter."""

    name: str
    where: str  # "path" | "query" | "header"
    schema: Dict[str, Any]
    required: bool = False
    description: str = ""


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: str = "bearer"  # "bearer" | "none" | "hmac" | "state" | "cookie"
    body: Optional[Dict[str, Any]] = None
    body_content_type: str = "application/json"
    params: List[Param] = field(default_factory=list)
    responses: Dict[int, str] = field(default_factory=dict)
    response_content_type: str = "application/json"
    operation_id: str = ""


ROUTES: List[Route] = []


def route(method: str, path: str, *, summary: str, tag: str, auth: str = "bearer",
          body: Optional[Dict[str, Any]] = None, body_content_type: str = "application/json",
          params: Optional[List[Param]] = None, responses: Optional[Dict[int, str]] = None,
          response_content_type: str = "application/json") -> Callable[[Handler], Handler]:
    """Decorator: declare an API route (registered by :func:`register_routes`)."""

    def wrap(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), path, handler, summary, tag, auth, body, body_content_type,
                            list(params or []), dict(responses or {}), response_content_type, handler.__name__))
        return handler

    return wrap


def register_routes(app: web.Application) -> None:
    """Add every declared route to ``app``'s router (static paths before parametrised ones)."""
    ordered = sorted(ROUTES, key=lambda r: ("{" in r.path, r.path))
    for r in ordered:
        app.router.add_route(r.method, r.path, r.handler, name=r.operation_id)

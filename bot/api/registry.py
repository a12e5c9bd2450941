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
    first: bool = False


ROUTES: List[Route] = []


def route(method: str, path: str, *, summary: str, tag: str, auth: str = "bearer",
          body: Optional[Dict[str, Any]] = None, body_content_type: str = "application/json",
          params: Optional[List[Param]] = None, responses: Optional[Dict[int, str]] = None,
          response_content_type: str = "application/json", first: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: declare an API route (registered by :func:`register_routes`).

    A ``first`` route is matched before every other one, fixed paths included: a generic
    ``/{platform}/...`` route that serves what fixed per-platform paths used to.
    """

    def wrap(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), path, handler, summary, tag, auth, body, body_content_type,
                            list(params or []), dict(responses or {}), response_content_type, handler.__name__, first))
        return handler

    return wrap


def wrap_handler(method: str, path: str, wrapper: Callable[[Handler], Handler],
                 responses: Optional[Dict[int, str]] = None) -> None:
    """Replace the handler of the declared route ``method path`` by ``wrapper(handler)`` (the
    wrapper must return ``handler`` unchanged when it was applied already); ``responses`` update
    the documented ones."""
    for r in ROUTES:
        if r.method == method.upper() and r.path == path:
            r.handler = wrapper(r.handler)
            r.responses.update(responses or {})


def register_routes(app: web.Application) -> None:
    """Add every declared route to ``app``'s router (``first`` routes, then static paths before
    parametrised ones)."""
    ordered = sorted(ROUTES, key=lambda r: (not r.first, "{" in r.path, r.path))
    for r in ordered:
        app.router.add_route(r.method, r.path, r.handler, name=r.operation_id)

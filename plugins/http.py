"""Shared HTTP behaviour of every platform client.

One pooled :class:`aiohttp.ClientSession` per process (created lazily inside the running loop),
connect/total timeouts, bounded retries with full-jitter backoff for connection errors, 429
(honouring ``Retry-After``) and 502/503/504, a per-store circuit breaker, no retry of other 4xx,
capped body reads, and connections only to addresses the client's
:class:`~plugins.netguard.AddressPolicy` permits (checked on the resolved address, see
:mod:`plugins.netguard`). Platform code gets an :class:`HttpResponse` or a typed
:class:`~plugins.errors.PlatformError`; it never sees aiohttp exceptions.

Nothing here logs query strings, headers or bodies (they carry keys, emails, order numbers).
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict, CIMultiDictProxy

from plugins.circuit import CircuitBreaker
from plugins.errors import MalformedResponse, RateLimited, StoreAddressRefused, StoreUnreachable
from plugins.netguard import AddressPolicy, AddressRefused, GuardedResolver, check_literal_host

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "TrulyBot/0.1 (order-tracking chatbot; +https://github.com/trulybot/trulybot)"
RETRY_STATUSES: Tuple[int, ...] = (429, 502, 503, 504)
REFUSED_MESSAGE = "the store address is not a public internet address"


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds < 0:  # NaN or past
        return 0.0
    return min(seconds, 24 * 3600.0)


def _safe_url(url: str) -> str:
    """URL without query string or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def mask_path(path: str) -> str:
    """Path segments that contain digits masked (``/orders/1001`` → ``/orders/10**``): ids in
    paths are often order numbers, which never go into logs in full."""
    return "/".join(seg[:2] + "*" * (len(seg) - 2) if len(seg) > 2 and any(c.isdigit() for c in seg) else seg for seg in path.split("/"))


def _log_url(url: str) -> str:
    """:func:`_safe_url` with :func:`mask_path` applied."""
    parts = urlsplit(_safe_url(url))
    return f"{parts.scheme}://{parts.netloc}{mask_path(parts.path)}"


@dataclass
class HttpResponse:
    """A fully read response (body capped at the client's ``max_body_bytes``)."""

    status: int
    headers: "CIMultiDictProxy[str]"
    body: bytes
    url: str  #: without query string

    def json(self) -> Any:
        """The body parsed as JSON; :class:`MalformedResponse` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MalformedResponse("store answered with something that is not JSON") from None

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except MalformedResponse:
            return None


@dataclass
class StoreState:
    """Per-store state that outlives platform instances."""

    breaker: CircuitBreaker
    memo: Dict[str, Any] = field(default_factory=dict)


class StoreHttpClient:
    """The HTTP client shared by every platform in a process.

    Retry and breaker knobs are constructor arguments so tests can make them fast. ``sleep`` and
    ``jitter`` are injectable for deterministic tests. ``policy`` says which addresses may be reached
    (public ones only by default); ``resolver`` replaces the DNS lookup under the policy's filter (tests
    pass a stub).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 3.0,
        total_timeout: float = 10.0,
        max_retries: int = 2,
        backoff_base: float = 0.2,
        backoff_max: float = 2.0,
        max_retry_after: float = 5.0,
        retry_statuses: Iterable[int] = RETRY_STATUSES,
        breaker_threshold: int = 5,
        breaker_reset_timeout: float = 30.0,
        max_body_bytes: int = 4 * 1024 * 1024,
        pool_limit: int = 100,
        pool_limit_per_host: int = 32,
        user_agent: str = DEFAULT_USER_AGENT,
        jitter: bool = True,
        policy: Optional[AddressPolicy] = None,
        resolver: Optional[AbstractResolver] = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.retry_statuses = frozenset(retry_statuses)
        self.breaker_threshold = breaker_threshold
        self.breaker_reset_timeout = breaker_reset_timeout
        self.max_body_bytes = max_body_bytes
        self.pool_limit = pool_limit
        self.pool_limit_per_host = pool_limit_per_host
        self.user_agent = user_agent
        self.jitter = jitter
        self.policy = policy if policy is not None else AddressPolicy()
        self.resolver = resolver
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._states: Dict[str, StoreState] = {}

    # -- session and state ----------------------------------------------------------------------
    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(
                limit=self.pool_limit, limit_per_host=self.pool_limit_per_host, ttl_dns_cache=300, enable_cleanup_closed=True,
                resolver=GuardedResolver(self.policy, self.resolver),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.total_timeout, sock_connect=self.connect_timeout),
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                trust_env=False,
                raise_for_status=False,
                auto_decompress=True,
            )
            self._loop = loop
        return self._session

    def state_for(self, store_key: str) -> StoreState:
        """The state of one store (created on first use)."""
        state = self._states.get(store_key)
        if state is None:
            state = StoreState(CircuitBreaker(self.breaker_threshold, self.breaker_reset_timeout))
            self._states[store_key] = state
        return state

    async def close(self) -> None:
        """Close the pooled session (safe to call twice; a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> "StoreHttpClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return random.uniform(0, ceiling) if self.jitter else ceiling

    async def _send(
        self, method: str, url: str, *, params: Any, json_body: Any, data: Any, headers: Optional[Mapping[str, str]],
        auth: Optional[aiohttp.BasicAuth], timeout: Optional[float],
    ) -> HttpResponse:
        session = self._get_session()
        kwargs: Dict[str, Any] = {"params": params, "headers": headers, "auth": auth, "allow_redirects": False}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, self.connect_timeout))
        async with session.request(method, url, **kwargs) as resp:
            if resp.content_length is not None and resp.content_length > self.max_body_bytes:
                raise MalformedResponse("store response is too large")
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise MalformedResponse("store response is too large")
                chunks.append(chunk)
            return HttpResponse(resp.status, CIMultiDictProxy(CIMultiDict(resp.headers)), b"".join(chunks), _safe_url(url))

    async def request(
        self,
        method: str,
        url: str,
        *,
        store_key: str,
        platform: Optional[str] = None,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        auth: Optional[aiohttp.BasicAuth] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> HttpResponse:
        """Send a request with retries and the store's circuit breaker.

        Returns the response for 1xx-4xx statuses other than 429 (the caller maps 401/404/...).
        Raises :class:`StoreUnreachable` (connection error, timeout, 5xx after retries, open
        circuit), :class:`RateLimited` (429 after retries, or a ``Retry-After`` longer than
        ``max_retry_after``) and :class:`MalformedResponse` (body over the size cap).
        """
        try:
            parts = urlsplit(url)
            check_literal_host(self.policy, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except AddressRefused:
            raise StoreAddressRefused(REFUSED_MESSAGE, platform=platform) from None
        except ValueError:
            raise StoreUnreachable("the store address is not a valid URL", platform=platform) from None
        breaker = self.state_for(store_key).breaker
        breaker.before_request(platform)
        retries = self.max_retries if max_retries is None else max(0, max_retries)
        safe = _log_url(url)
        attempt = 0
        verdict_recorded = False
        try:
            while True:
                started = time.monotonic()
                try:
                    response = await self._send(
                        method, url, params=params, json_body=json, data=data, headers=headers, auth=auth, timeout=timeout
                    )
                except MalformedResponse:
                    breaker.record_success()  # the store answered; the answer is the problem
                    verdict_recorded = True
                    raise
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, AddressRefused):
                        breaker.record_failure()
                        verdict_recorded = True
                        logger.warning("store %s: %s refused, the host resolves to a non-public address", store_key, safe)
                        raise StoreAddressRefused(REFUSED_MESSAGE, platform=platform) from None
                    kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
                    logger.debug("store %s: %s %s failed (%s), attempt %d", store_key, method, safe, kind, attempt + 1)
                    if attempt >= retries:
                        breaker.record_failure()
                        verdict_recorded = True
                        message = "store timed out" if kind == "timeout" else "could not connect to the store"
                        raise StoreUnreachable(message, platform=platform) from None
                    await asyncio.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                logger.debug(
                    "store %s: %s %s -> %d in %.0f ms", store_key, method, safe, response.status, (time.monotonic() - started) * 1000
                )
                status = response.status
                if status in self.retry_statuses:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    too_long = retry_after is not None and retry_after > self.max_retry_after
                    if attempt < retries and not too_long:
                        delay = retry_after if retry_after is not None else self._backoff(attempt)
                        await asyncio.sleep(max(delay, 0.0))
                        attempt += 1
                        continue
                    if status == 429:
                        breaker.record_success()  # alive, just busy
                        verdict_recorded = True
                        raise RateLimited("store rate limit reached", retry_after=retry_after, platform=platform)
                    breaker.record_failure()
                    verdict_recorded = True
                    raise StoreUnreachable(f"store answered HTTP {status}", platform=platform)
                if status >= 500:
                    breaker.record_failure()
                    verdict_recorded = True
                    raise StoreUnreachable(f"store answered HTTP {status}", platform=platform)
                breaker.record_success()
                verdict_recorded = True
                return response
        finally:
            if not verdict_recorded:
                breaker.release()


_shared: Optional[StoreHttpClient] = None


def shared_http_client() -> StoreHttpClient:
    """The process-wide client with default settings (one pooled session per process)."""
    global _shared
    if _shared is None:
        _shared = StoreHttpClient()
    return _shared

"""A bounded queue in front of Rasa: at most ``concurrency`` turns in flight, the rest wait here.

Rasa is one asyncio process with a listen backlog of 100: when hundreds of shoppers send at once,
connections beyond the backlog are refused and the shopper would get ``unavailable``. The bot
service instead lets a fixed number of turns reach Rasa and queues the others in memory, first
come first served. A waiting turn is told to keep its typing indicator alive (``on_wait``) and only
gives up after ``max_wait`` seconds or when ``max_waiting`` turns are already queued.
"""
from __future__ import annotations

import asyncio
import collections
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, Deque, Optional

WaitCallback = Callable[[], Awaitable[object]]


class QueueFull(RuntimeError):
    """The turn could not get a slot: the queue is full or the wait took too long."""


class RasaQueue:
    """First-come-first-served slots for Rasa requests."""

    def __init__(self, concurrency: int, max_waiting: int = 4096, max_wait: float = 30.0,
                 wait_signal_seconds: float = 10.0) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.max_wait = max_wait
        self.wait_signal_seconds = wait_signal_seconds
        self.in_flight = 0
        self._waiters: Deque["asyncio.Future[None]"] = collections.deque()

    @property
    def waiting(self) -> int:
        """Turns currently queued (not yet sent to Rasa)."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self, on_wait: Optional[WaitCallback] = None) -> AsyncIterator[None]:
        """Hold one of the ``concurrency`` slots for the body; wait in order for one if none is free.

        ``on_wait`` is awaited every ``wait_signal_seconds`` while the turn is still queued.
        Raises :class:`QueueFull` when the queue is full or the turn waited ``max_wait`` seconds.
        """
        await self._acquire(on_wait)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, on_wait: Optional[WaitCallback]) -> None:
        if self.in_flight < self.concurrency and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.max_waiting:
            raise QueueFull(f"{len(self._waiters)} turns are already waiting for Rasa")
        granted: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._waiters.append(granted)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        try:
            while True:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise QueueFull(f"no Rasa slot within {self.max_wait:g} s")
                try:
                    await asyncio.wait_for(asyncio.shield(granted), min(left, self.wait_signal_seconds))
                    return  # the releasing turn handed its slot over (in_flight unchanged)
                except asyncio.TimeoutError:
                    if on_wait is not None and not granted.done():
                        await on_wait()
        except BaseException:
            if granted.done() and not granted.cancelled():
                self._release()  # the slot arrived just as this turn gave up: pass it on
            else:
                granted.cancel()
                try:
                    self._waiters.remove(granted)
                except ValueError:
                    pass
            raise

    def _release(self) -> None:
        while self._waiters:
            granted = self._waiters.popleft()
            if not granted.done():
                granted.set_result(None)  # hand the slot to the oldest waiter
                return
        self.in_flight -= 1

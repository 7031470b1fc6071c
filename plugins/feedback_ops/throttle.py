"""Client-side pacing of model calls: requests- and tokens-per-minute limits, retry delays.

``RateLimiter`` keeps the calls of the last minute and makes a caller wait until one more call (with its
estimated tokens) fits under both limits; a 429 pauses every caller for the server's ``Retry-After``.
``retry_after_seconds`` reads that header (``retry-after-ms``, ``retry-after`` in seconds or as an HTTP date);
``backoff_delay`` is exponential backoff with jitter for the retries the server gave no delay for.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

WINDOW_S = 60.0


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits over a sliding one-minute window.

    Args:
        requests_per_minute / tokens_per_minute: the limits (match the deployment's quota).
        clock / sleep: injectable for tests (monotonic seconds; an awaitable sleep).
    """

    def __init__(
        self,
        requests_per_minute: int,
        tokens_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if requests_per_minute < 1 or tokens_per_minute < 1:
            raise ValueError("rate limits must be positive")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[tuple[float, int]] = deque()
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.waited_s = 0.0
        """Total time callers spent waiting for the limits (for the run's log)."""

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (the server said Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def wait_time(self, tokens: int) -> float:
        """Seconds until a call of ``tokens`` estimated tokens fits (0 when it fits now)."""
        now = self._clock()
        while self._calls and self._calls[0][0] <= now - WINDOW_S:
            self._calls.popleft()
        wait = self._paused_until - now
        if len(self._calls) >= self.requests_per_minute:
            wait = max(wait, self._calls[0][0] + WINDOW_S - now)
        used = sum(spent for _, spent in self._calls)
        if self._calls and used + tokens > self.tokens_per_minute:
            # wait until enough of the window's tokens have aged out (a call larger than the limit goes alone)
            freed = 0
            for started, spent in self._calls:
                freed += spent
                if used - freed + tokens <= self.tokens_per_minute or freed == used:
                    wait = max(wait, started + WINDOW_S - now)
                    break
        return max(wait, 0.0)

    async def acquire(self, tokens: int) -> None:
        """Wait until one more call of ``tokens`` estimated tokens fits, then count it."""
        async with self._loop_lock():
            while (wait := self.wait_time(tokens)) > 0:
                self.waited_s += wait
                await self._sleep(wait)
            self._calls.append((self._clock(), tokens))

    def _loop_lock(self) -> asyncio.Lock:
        # The limiter outlives event loops (one per batch); an asyncio.Lock belongs to one loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """The delay a response asks for: ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date).

    Returns:
        Seconds (>= 0), or None when the response names no usable delay.
    """
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(float(lowered[name]) / divisor, 0.0)
        except (KeyError, ValueError):
            continue
    try:
        when = email.utils.parsedate_to_datetime(lowered["retry-after"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def backoff_delay(
    attempt: int, base_s: float, max_s: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with jitter: ``min(max_s, base_s * 2**(attempt-1))`` scaled into [50 %, 100 %]."""
    ceiling = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return ceiling * (0.5 + 0.5 * rng())

"""A 10 ms heartbeat inside a server process: how late the event loop wakes it up.

Both bench servers (backoffice and the floor) run it, so the background work is the same on
both sides; ``/bench/lag`` reads it and ``/bench/lag?reset=1`` starts a new measurement.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

INTERVAL_SECONDS = 0.010


@dataclass
class Heartbeat:
    """Largest and total lateness of the 10 ms ticks since the last reset."""

    max_lag: float = 0.0
    total_lag: float = 0.0
    ticks: int = 0

    def reset(self) -> None:
        self.max_lag, self.total_lag, self.ticks = 0.0, 0.0, 0

    def report(self) -> dict[str, float | int]:
        mean = self.total_lag / self.ticks if self.ticks else 0.0
        return {
            "max_ms": round(self.max_lag * 1000, 3),
            "mean_ms": round(mean * 1000, 3),
            "ticks": self.ticks,
        }

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(INTERVAL_SECONDS)
            lag = max(0.0, loop.time() - start - INTERVAL_SECONDS)
            self.ticks += 1
            self.total_lag += lag
            self.max_lag = max(self.max_lag, lag)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the heartbeat for the lifetime of the block (an application's lifespan)."""
        task = asyncio.create_task(self.run(), name="bench-heartbeat")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

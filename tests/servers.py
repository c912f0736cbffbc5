"""Real servers for tests: a free local port, and uvicorn serving an app in a thread."""

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread of its own, so the test's own event
    loop (or a synchronous browser test) goes on while it runs. ``start`` / ``await
    start_async``, then ``url``; ``stop`` / ``await stop_async``."""

    def __init__(self, app: Any, *, port: int | None = None, timeout: float = 30) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        deadline = self._launch()
        while not self._up(deadline):
            time.sleep(0.05)

    async def start_async(self) -> None:
        """Waits without blocking the calling loop (which may serve what start-up needs)."""
        deadline = self._launch()
        while not self._up(deadline):  # noqa: ASYNC110 (uvicorn's flag, set in its thread)
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(self.timeout)
        assert not self.thread.is_alive(), "uvicorn did not stop"

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def _launch(self) -> float:
        self.thread.start()
        return time.monotonic() + self.timeout

    def _up(self, deadline: float) -> bool:
        if self.server.started:
            return True
        if time.monotonic() > deadline or not self.thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        return False

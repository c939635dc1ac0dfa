"""A real uvicorn server for tests: an app served in a background thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread on a free loopback port."""

    def __init__(self, app, graceful_s: int = 10):
        self.app = app
        self.port = free_port()
        # log_config=None: uvicorn must not reconfigure the process's logging. Its dictConfig closes every
        # handler there is, and a handler some library made earlier (absl's, imported with lm-eval) then
        # closes the stream it holds, which under pytest is the capture file of a finished test: pytest
        # itself then dies writing to it ("ValueError: I/O operation on closed file", no summary).
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", log_config=None,
                                timeout_graceful_shutdown=graceful_s)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)

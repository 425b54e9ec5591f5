"""`phm serve`'s app in a background thread on a free loopback port: what the browser tests and `phm bench` talk to
over real HTTP (the `phm serve` command itself runs uvicorn in the foreground)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from phm.web.app import Settings, create_app


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_in_background(settings: Settings, start_timeout: float = 20.0) -> Iterator[str]:
    """Yields the base URL once uvicorn answers; stops the server on exit."""
    import uvicorn

    port = free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + start_timeout
        while not server.started:
            if time.time() > deadline or not thread.is_alive():
                raise RuntimeError(f"the web app did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""Serving the portal: uvicorn in a thread of the daemon, on its own address.

The portal listens apart from ``/metrics`` so that it can sit behind a
reverse proxy while the operator endpoints stay on loopback.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from maildesk.web.portal.app import Portal, create_app

__all__ = ["PortalServer"]

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 10.0


class PortalServer:
    """The portal's HTTP listener; ``start`` returns once it accepts connections."""

    def __init__(self, host: str, port: int, portal: Portal) -> None:
        self._socket = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise OSError(
                f"the portal cannot listen on {host}:{port}: {exc.strerror}; "
                "set [portal] host/port to a free address"
            ) from exc
        config = uvicorn.Config(
            create_app(portal),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1,::1",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="portal", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the portal's HTTP server did not start; see the log above")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

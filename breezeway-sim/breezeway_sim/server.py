"""The threaded HTTP server: moves bytes between sockets and `Simulator.handle`.

HTTP/1.1 with keep-alive and an exact Content-Length on every answer (a truncated body is
still a complete HTTP message, only its JSON is broken), so clients see protocol-correct
responses and a session can reuse its connection.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from breezeway_sim.api import Request

if TYPE_CHECKING:
    from breezeway_sim.simulator import Simulator

log = logging.getLogger("breezeway_sim.server")


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, SimulatorRequestHandler)
        self.simulator = simulator


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are two writes; with Nagle on, keep-alive clients wait ~40 ms per call
    disable_nagle_algorithm = True
    server: SimulatorHTTPServer

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self.close_connection = True  # the body's end is unknown: the connection is unusable
            self._send(400, b'{"error": "invalid Content-Length"}', {})
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        query = parse_qs(parts.query, keep_blank_values=True)
        request = Request(self.command, parts.path, query, self.headers, body)
        self._send(*self.server.simulator.handle(request))

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

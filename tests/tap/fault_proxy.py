"""A real TCP proxy in front of the simulator that breaks chosen HTTP exchanges.

Socket faults as a client meets them, not mocks: `drop` closes the connection once the
request has arrived (the API never saw it); `lose_answer` forwards the request and closes
the connection instead of relaying the answer (the API did see it, and counted it); `hang`
never answers (the client's timeout fires). Every other exchange is relayed unchanged,
keep-alive included. Requests and answers are framed by Content-Length (the simulator
always sends one).
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from typing import Literal
from urllib.parse import urlsplit

Fault = Literal["drop", "lose_answer", "hang"]


class FaultProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._faults: deque[tuple[str, Fault]] = deque()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        #: (request line, fault or "relayed") of every exchange, in order.
        self.exchanges: list[tuple[str, str]] = []
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    def fail_next(self, path: str, fault: Fault, times: int = 1) -> None:
        """The next `times` requests whose path starts with `path` meet `fault`."""
        with self._lock:
            self._faults.extend([(path, fault)] * times)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    # -- serving --------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            while (request := _read_message(client)) is not None:
                line = request.split(b"\r\n", 1)[0].decode("latin-1")
                fault = self._take_fault(line)
                with self._lock:
                    self.exchanges.append((line, fault or "relayed"))
                if fault == "drop":
                    return
                if fault == "hang":
                    self._closed.wait(30)
                    return
                upstream = upstream or socket.create_connection(self._upstream, timeout=30)
                upstream.sendall(request)
                answer = _read_message(upstream)
                if answer is None or fault == "lose_answer":
                    return
                client.sendall(answer)
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    def _take_fault(self, request_line: str) -> Fault | None:
        path = request_line.split(" ")[1] if " " in request_line else ""
        with self._lock:
            for index, (prefix, fault) in enumerate(self._faults):
                if path.startswith(prefix):
                    del self._faults[index]
                    return fault
        return None


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP message (head and Content-Length body), or None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for header in head.split(b"\r\n")[1:]:
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body

"""A TCP proxy between the target and PostgreSQL that cuts connections, as a failover,
a restart or an idle-connection killer does: both sides see the socket close mid-stream.

Each connection may carry a random number of bytes (server to client and back) before it
is cut; `cuts` counts the cuts, `max_cuts` stops cutting (so a run can finish). An outage
(`outage_after_bytes`, `outage_connections`): once that many bytes went through, every open
connection is cut, and so are the next connections, `outage_connections` in all.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class CuttingProxy:
    upstream: tuple[str, int]
    budget_bytes: tuple[int, int] | None = None  # per connection, or None: no random cuts
    max_cuts: int = 0
    outage_after_bytes: int | None = None
    outage_connections: int = 0
    seed: int = 7
    forwarded: int = 0
    cuts: int = 0
    connections: int = 0
    _cut_next: int = 0
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socket.socket | None = None
    _open: set[socket.socket] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def start(self) -> int:
        self._server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()
        return self._server.getsockname()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)

    def _note_bytes(self, size: int) -> None:
        """Count forwarded bytes; start the outage when they reach its threshold."""
        with self._lock:
            self.forwarded += size
            if self.outage_after_bytes is None or self.forwarded < self.outage_after_bytes:
                return
            self.outage_after_bytes = None
            self._cut_next = self.outage_connections - 1
            self.cuts += 1
            victims = list(self._open)
        for sock in victims:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self.connections += 1
                self._open.update({client, upstream})
                immediate = self._cut_next > 0
                self._cut_next -= immediate
                budget = self._budget()
            link = _Link(self, client, upstream, 0 if immediate else budget)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=link.pump, args=(source, sink), daemon=True).start()

    def _budget(self) -> int | None:
        if self.budget_bytes is None or self.cuts >= self.max_cuts:
            return None
        return self._random.randint(*self.budget_bytes)

    def _count_cut(self) -> bool:
        """Whether this link may still be cut (the run's cut allowance is not used up)."""
        with self._lock:
            if self.cuts >= self.max_cuts and self._cut_next <= 0 and self.max_cuts:
                return False
            self.cuts += 1
            return True


class _Link:
    """One proxied connection: both directions share one byte budget."""

    def __init__(self, proxy: CuttingProxy, client: socket.socket, upstream: socket.socket,
                 budget: int | None) -> None:
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.remaining = budget
        self.lock = threading.Lock()
        self.cut = False

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self._spend(len(data)):
                    self._cut()
                    return
                sink.sendall(data)
                self.proxy._note_bytes(len(data))
        except OSError:
            pass
        _close(source)
        _close(sink)

    def _spend(self, size: int) -> bool:
        with self.lock:
            if self.cut or self.remaining is None:
                return self.cut
            self.remaining -= size
            if self.remaining > 0:
                return False
            self.cut = True
        return self.proxy._count_cut() or _undo(self)

    def _cut(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            _close(sock)


def _undo(link: _Link) -> bool:
    """The allowance is used up: this link is not cut after all."""
    with link.lock:
        link.cut = False
        link.remaining = None
    return False


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()

"""A small TCP proxy between the clients and the server that cuts connections on demand.

``cut_all()`` closes every open connection at once, wherever its request is; ``drop_answers(n)``
lets the next ``n`` answers reach the proxy and closes their connections instead of relaying
them: the server did the work, the client never hears of it (the case an idempotency key is
for).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

CHUNK_BYTES = 65536


class CuttingProxy:
    def __init__(self, listen_port: int, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.listener = socket.create_server((host, listen_port), reuse_port=False)
        self.port: int = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._drop = 0
        self.cut = 0  # connections closed by cut_all
        self.dropped = 0  # answers withheld by drop_answers
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._relay, args=(pair,), daemon=True).start()

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop > 0:
                self._drop -= 1
                self.dropped += 1
                return True
            return False

    def _relay(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in selector.select(timeout=1.0):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(CHUNK_BYTES)
                    if not data:
                        return
                    if source is upstream and self._take_drop():
                        return  # the answer arrived: withhold it, close both sides
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            self._close(pair)

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut_all(self) -> int:
        """Close every open connection now; returns how many."""
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.cut += len(pairs)
        return len(pairs)

    def drop_answers(self, count: int) -> None:
        with self._lock:
            self._drop += count

    def close(self) -> None:
        self._closed.set()
        self.listener.close()
        self.cut_all()

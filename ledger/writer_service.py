"""One group-commit writer for several processes: HTTP workers hand it their commands.

With one :class:`~ledger.writer.GroupCommitWriter` per worker process, each writer's batch
holds only its own process's requests and the writers take the journal head lock in
turn. :class:`WriterService` runs one writer for them all behind a Unix socket; each worker
sends its asyncio callers' commands through a :class:`RemoteWriter`, so a batch gathers
every worker's requests and the lock is not contended.

Nothing of the ledger's guarantees rests on this: the head lock, the balance locks and the
idempotency keys are checked in the database as before, and a worker whose service is not
reachable (not started, stopped, restarting) writes through a writer of its own.

The wire: frames of a 4-byte big-endian length and a pickle, ``(id, commands)`` one way,
``(id, outcomes or exception)`` the other, many in flight on one connection. Pickles cross
only a socket of the same user's processes (mode 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

from ledger.commands import Command, Outcome
from ledger.errors import Unavailable
from ledger.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!I")
RECONNECT_AFTER_S = 1.0
STOPPED_DETAIL = (
    "the ledger writer stopped while this request was in flight; it may or may not have "
    "been written: retry with the same idempotency key"
)


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return pickle.loads(await reader.readexactly(size))  # noqa: S301 - our own socket


def _frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class WriterService:
    """Serves ``writer`` on the Unix socket ``path`` (in the asyncio loop that calls
    :meth:`serve`) until cancelled."""

    def __init__(self, writer: GroupCommitWriter, path: str) -> None:
        self.writer, self.path = writer, path
        self._clients: set[asyncio.StreamWriter] = set()

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        server = await asyncio.start_unix_server(self._client, path=self.path)
        os.chmod(self.path, 0o600)
        if ready is not None:
            ready()
        try:
            async with server:
                await server.serve_forever()
        finally:  # the workers see the end at once and write for themselves meanwhile
            for client in list(self._clients):
                client.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks: set[asyncio.Task[None]] = set()
        self._clients.add(writer)
        try:
            while True:
                request_id, commands = await _read_frame(reader)
                task = asyncio.create_task(self._answer(writer, request_id, commands))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away; its batches still commit
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, request_id: int, commands: Sequence[Command]
    ) -> None:
        result: list[Outcome] | BaseException
        try:
            result = await self.writer.submit_async(commands)
        except Exception as error:  # every failure is the caller's answer
            result = error
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.write(_frame((request_id, result)))


class _Channel:
    """One connection to the service from one event loop, with its requests in flight."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.waiting: dict[int, asyncio.Future[list[Outcome]]] = {}
        self.ids = itertools.count()
        self.task = asyncio.get_running_loop().create_task(self._receive())

    @property
    def open(self) -> bool:
        return not self.task.done()

    async def _receive(self) -> None:
        try:
            while True:
                request_id, result = await _read_frame(self.reader)
                waiter = self.waiting.pop(request_id, None)
                if waiter is None or waiter.done():
                    continue
                if isinstance(result, BaseException):
                    waiter.set_exception(result)
                else:
                    waiter.set_result(result)
        except Exception:  # the service stopped: nobody in flight gets an answer
            log.warning("the ledger writer service closed the connection")
        finally:
            for waiter in self.waiting.values():
                if not waiter.done():
                    waiter.set_exception(Unavailable(STOPPED_DETAIL))
            self.waiting.clear()
            self.writer.close()

    async def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        request_id = next(self.ids)
        waiter: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = waiter
        self.writer.write(_frame((request_id, list(commands))))
        return await waiter


class RemoteWriter:
    """A worker's writer: asyncio callers go to the service at ``path``; thread callers,
    and asyncio callers while the service cannot be reached, to ``local()`` (a writer of
    this process, made on first use)."""

    def __init__(self, path: str, local: Callable[[], GroupCommitWriter]) -> None:
        self.path, self._make_local = path, local
        self._local: GroupCommitWriter | None = None
        self._channels: dict[asyncio.AbstractEventLoop, _Channel] = {}
        self._closed = False
        self._retry_at = 0.0  # after a failed connection: when to try again

    def local(self) -> GroupCommitWriter:
        if self._local is None:
            self._local = self._make_local()
        return self._local

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        return self.local().submit(commands)

    async def submit_async(self, commands: Sequence[Command]) -> list[Outcome]:
        if self._closed:
            raise Unavailable("the ledger writer is closed")
        if not commands:
            return []
        channel = await self._channel()
        if channel is None:
            return await self.local().submit_async(commands)
        return await channel.submit(commands)

    async def _channel(self) -> _Channel | None:
        loop = asyncio.get_running_loop()
        channel = self._channels.get(loop)
        if channel is not None and channel.open:
            return channel
        if time.monotonic() < self._retry_at:
            return None
        try:
            reader, writer = await asyncio.open_unix_connection(self.path)
        except OSError:  # not started or gone: this process writes for itself meanwhile
            self._retry_at = time.monotonic() + RECONNECT_AFTER_S
            return None
        channel = self._channels.get(loop)  # another task may have connected meanwhile
        if channel is not None and channel.open:
            writer.close()
            return channel
        channel = self._channels[loop] = _Channel(reader, writer)
        return channel

    def close(self) -> None:
        self._closed = True
        for channel in self._channels.values():
            with contextlib.suppress(RuntimeError):  # its loop may be closed already
                channel.writer.close()
        self._channels.clear()
        if self._local is not None:
            self._local.close()

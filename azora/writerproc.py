"""The ledger writer process ``azora serve`` runs beside its HTTP workers on PostgreSQL.

One :class:`~ledger.writer_service.WriterService` for all workers: a batch gathers every
worker's requests (see that module). The process is restarted if it exits while serving;
meanwhile each worker writes for itself, so requests never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess

from azora.bootstrap import build
from azora.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
RESTART_DELAY_S = 1.0


def _serve(path: str) -> None:
    """The writer process: the container from the environment, its writer on ``path``."""
    container = build(Settings())
    try:
        asyncio.run(container.writer_service(path).serve())
    finally:
        container.close()


class WriterProcess:
    """Starts the writer process, keeps it running, stops it; ``path`` is its socket."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="azora-writer-")
        self.path = os.path.join(self._dir, "writer.sock")
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._keep, name="azora-writer-watch", daemon=True)

    def start(self) -> None:
        self._spawn()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not os.path.exists(self.path) and time.monotonic() < deadline:
            if self._process is not None and not self._process.is_alive():
                break
            time.sleep(0.05)
        if not os.path.exists(self.path):
            log.warning("the ledger writer did not start; each worker writes for itself")
        self._watch.start()

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=_serve, args=(self.path,), name="azora-ledger-writer", daemon=True
        )
        self._process.start()

    def _keep(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is not None:
                process.join(timeout=1.0)
                if process.is_alive() or self._stopping.is_set():
                    continue
                log.warning("the ledger writer exited (%s); restarting it", process.exitcode)
            time.sleep(RESTART_DELAY_S)
            if not self._stopping.is_set():
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout=10)
        with contextlib.suppress(OSError):
            shutil.rmtree(self._dir)

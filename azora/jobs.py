"""What runs beside the API in every serving process, each in a thread of its own.

Both jobs are safe to run in many processes at once: anchoring takes a leader lock per
round, and every maintenance task is idempotent (an expiry or a settlement is recorded once
by the journal writer, whoever asks first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from chain.anchoring import AnchorSettings
from chain.runtime import ChainRuntime

log = logging.getLogger("azora.jobs")

JOIN_TIMEOUT_S = 10.0
CHAIN_WAIT_MAX_S = 60.0


class Job:
    """A daemon thread running ``body(stop)`` until :meth:`stop` sets ``stop``."""

    def __init__(self, name: str, body: Callable[[threading.Event], None]) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=body, args=(self._stop,), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=JOIN_TIMEOUT_S)


class Maintainable(Protocol):
    def maintain(self) -> None: ...


def maintenance_job(target: Maintainable, interval_s: float) -> Job:
    """Expire holds past their deadline, settle interrupted redemptions, ... every round."""

    def run(stop: threading.Event) -> None:
        while not stop.wait(interval_s):
            try:
                target.maintain()
            except Exception as error:  # keep the loop alive; the next round retries
                log.warning("maintenance round failed: %s", error)

    return Job("azora-maintenance", run)


class Deliverable(Protocol):
    def deliver_webhooks(self) -> int: ...


def webhook_jobs(target: Deliverable, interval_s: float, workers: int) -> list[Job]:
    """The webhook delivery workers: each claims one endpoint at a time (the claim keeps two
    workers, here or in another process, off one endpoint), so a slow receiver holds up only
    its own deliveries. A round that delivered something is followed at once by the next."""

    def run(stop: threading.Event) -> None:
        wait_s = interval_s
        while not stop.wait(wait_s):
            try:
                wait_s = 0.0 if target.deliver_webhooks() > 0 else interval_s
            except Exception as error:  # keep the loop alive; the next round retries
                log.warning("webhook round failed: %s", error)
                wait_s = interval_s

    return [Job(f"azora-webhooks-{n}", run) for n in range(workers)]


def anchoring_job(chain: ChainRuntime, settings: AnchorSettings) -> Job:
    """The anchoring worker, beside the API on its own schedule (never inside a request).

    It waits for the chain (and the token `azora serve` deployed) with bounded backoff.
    """

    def run(stop: threading.Event) -> None:
        delay_s = 1.0
        while not stop.is_set():
            try:
                worker = chain.anchor_worker(settings)
            except Exception as error:
                log.warning("anchoring waits for the chain (retry in %.0fs): %s", delay_s, error)
                stop.wait(delay_s)
                delay_s = min(CHAIN_WAIT_MAX_S, delay_s * 2)
                continue
            worker.run_forever(stop)

    return Job("azora-anchoring", run)

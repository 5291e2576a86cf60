"""The bank workload of the fault tests: clients posting random transfers, holds (posted or
voided later) and reward events over HTTP, each retried with the same idempotency key until
it has a definite answer; and the checks run on the database afterwards.

A request is *acknowledged* when the server answered 2xx: its entry must then be in the
journal exactly once, whatever failed after. A request whose answer never came (a cut
connection, a 5xx, a 429) is *indeterminate* and is sent again with the same key and body.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine, text

START_USD_CENTS = 100_000  # each user starts with 1,000.00 USD
RETRY_PAUSE_S = 0.05
REQUEST_TIMEOUT_S = 10.0
GIVE_UP_AFTER_S = 120.0  # one logical request keeps retrying this long at most
REWARD_TYPES = ("lesson.completed", "quiz.passed", "streak.daily")


def user_account(index: int) -> str:
    return f"user:bank{index}:usd"


@dataclass
class Tally:
    """What the clients saw, shared by every client thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key -> entry id
    refused: Counter[str] = field(default_factory=Counter)  # definite 4xx by problem type
    retries: Counter[str] = field(default_factory=Counter)  # indeterminate answers by reason
    holds: dict[str, str] = field(default_factory=dict)  # hold entry id -> "posted"/"voided"
    replays: int = 0
    ack_times: list[float] = field(default_factory=list)  # monotonic time of every ack
    gave_up: int = 0

    def ack(self, key: str, entry_id: str, replayed: bool) -> None:
        with self.lock:
            previous = self.acknowledged.setdefault(key, entry_id)
            assert previous == entry_id, f"key {key}: {previous} then {entry_id}"
            self.replays += int(replayed)
            self.ack_times.append(time.monotonic())

    def retry(self, reason: str) -> None:
        with self.lock:
            self.retries[reason] += 1

    def refuse(self, problem: str) -> None:
        with self.lock:
            self.refused[problem] += 1


class Client:
    """One client thread: random operations until ``stop`` is set."""

    def __init__(self, base: str, key: str, users: int, tally: Tally, seed: int) -> None:
        self.base, self.users, self.tally = base, users, tally
        self.rng = random.Random(seed)
        self.headers = {"Authorization": f"Bearer {key}"}
        self.http = httpx.Client(base_url=base, headers=self.headers, timeout=REQUEST_TIMEOUT_S)

    def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        stop: threading.Event,
    ) -> httpx.Response | None:
        """The request until a definite answer (2xx/4xx); None when giving up."""
        headers = {"Idempotency-Key": key} if key else {}
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        while time.monotonic() < deadline:
            try:
                answer = self.http.request(method, path, json=body, headers=headers)
            except httpx.TransportError as error:
                self.tally.retry(type(error).__name__)
            else:
                if answer.status_code < 500 and answer.status_code != 429:
                    return answer
                self.tally.retry(f"http {answer.status_code}")
            if stop.is_set() and time.monotonic() > deadline - GIVE_UP_AFTER_S / 2:
                break
            time.sleep(RETRY_PAUSE_S)
        with self.tally.lock:
            self.tally.gave_up += 1
        return None

    def _record(self, key: str, answer: httpx.Response | None, id_field: str) -> str | None:
        if answer is None:
            return None
        if answer.is_success:
            entry_id = str(answer.json()[id_field])
            self.tally.ack(key, entry_id, answer.headers.get("Idempotent-Replayed") == "true")
            return entry_id
        problem = answer.json().get("type", "?") if answer.content else "?"
        self.tally.refuse(f"{answer.status_code} {problem.rsplit('/', 1)[-1]}")
        return None

    def transfer(self, stop: threading.Event, *, pending: bool = False) -> str | None:
        a, b = self.rng.sample(range(self.users), 2)
        cents = self.rng.randint(1, 5_000)
        body = {
            "kind": "bank.hold" if pending else "bank.transfer",
            "postings": [
                {
                    "source": user_account(a),
                    "destination": user_account(b),
                    "asset": "USD",
                    "amount": f"{cents // 100}.{cents % 100:02d}",
                }
            ],
            "pending": pending,
        }
        key = f"bank-{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
        return self._record(key, self.send("POST", "/v1/entries", body, key, stop), "id")

    def hold(self, stop: threading.Event) -> None:
        hold_id = self.transfer(stop, pending=True)
        if hold_id is None:
            return
        action = self.rng.choice(("post", "void"))
        answer = self.send("POST", f"/v1/entries/{hold_id}/{action}", None, None, stop)
        if answer is not None and answer.is_success:
            with self.tally.lock:
                self.tally.holds[hold_id] = answer.json()["status"]

    def reward(self, stop: threading.Event) -> None:
        event_id = f"bank-ev-{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
        body = {
            "event_id": event_id,
            "user_id": f"bank{self.rng.randrange(self.users)}",
            "type": self.rng.choice(REWARD_TYPES),
            "metadata": {},
        }
        answer = self.send("POST", "/v1/rewards/events", body, None, stop)
        self._record(event_id, answer, "entry_id")

    def run(self, stop: threading.Event, mix: tuple[float, float]) -> None:
        """``mix``: the shares of holds and of reward events; transfers take the rest."""
        try:
            while not stop.is_set():
                pick = self.rng.random()
                if pick < mix[0]:
                    self.hold(stop)
                elif pick < mix[0] + mix[1]:
                    self.reward(stop)
                else:
                    self.transfer(stop)
        finally:
            self.http.close()


def open_bank(base: str, key: str, users: int) -> None:
    """``world:card`` and ``users`` accounts, each funded with ``START_USD_CENTS``."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        http.post(
            "/v1/accounts", json={"id": "world:card", "asset": "USD", "allow_negative": True}
        ).raise_for_status()
        for index in range(users):
            account = user_account(index)
            http.post("/v1/accounts", json={"id": account, "asset": "USD"}).raise_for_status()
            amount = f"{START_USD_CENTS // 100}.00"
            http.post(
                "/v1/entries",
                headers={"Idempotency-Key": f"bank-fund-{index}"},
                json={
                    "kind": "deposit.card",
                    "postings": [
                        {
                            "source": "world:card",
                            "destination": account,
                            "asset": "USD",
                            "amount": amount,
                        }
                    ],
                },
            ).raise_for_status()


def run_clients(
    base: str,
    key: str,
    users: int,
    clients: int,
    tally: Tally,
    mix: tuple[float, float] = (0.2, 0.2),
) -> tuple[threading.Event, list[threading.Thread]]:
    """Start ``clients`` client threads; set the returned event to stop them."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=Client(base, key, users, tally, seed=n).run, args=(stop, mix), daemon=True
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    return stop, threads


@dataclass
class Findings:
    """The database checked against what the clients saw: every list empty when all is well."""

    entries: int
    acknowledged: int
    lost: list[str]
    duplicated: list[str]
    negative: list[str]
    unbalanced: list[str]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.negative or self.unbalanced)


def check_database(engine: Engine, tally: Tally, users: int) -> Findings:
    """Every acknowledged entry exactly once, nothing negative, totals conserved."""
    with engine.connect() as conn:
        by_id: dict[str, str | None] = dict(
            conn.execute(text("SELECT id, idempotency_key FROM entries")).all()
        )
        key_counts = Counter(
            key
            for (key,) in conn.execute(
                text("SELECT idempotency_key FROM entries WHERE idempotency_key IS NOT NULL")
            )
        )
        rows = conn.execute(
            text("SELECT account_id, asset, allow_negative, balance, pending_out FROM balances")
        ).all()
    lost = [k for k, entry_id in tally.acknowledged.items() if entry_id not in by_id]
    duplicated = [k for k, n in key_counts.items() if n > 1]
    negative = [
        f"{r.account_id}: balance {r.balance}, pending out {r.pending_out}"
        for r in rows
        if not r.allow_negative and (r.balance < 0 or r.balance - r.pending_out < 0)
    ]
    totals: Counter[str] = Counter()
    for r in rows:
        totals[r.asset] += int(r.balance)
    unbalanced = [f"{asset}: sum of balances {total}" for asset, total in totals.items() if total]
    usd_users = sum(
        int(r.balance) for r in rows if r.account_id.startswith("user:bank") and r.asset == "USD"
    )
    if usd_users != users * START_USD_CENTS:
        unbalanced.append(f"users hold {usd_users} cents, {users * START_USD_CENTS} were funded")
    return Findings(len(by_id), len(tally.acknowledged), lost, duplicated, negative, unbalanced)

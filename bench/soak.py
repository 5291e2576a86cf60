"""Soak: N minutes of mixed load against a served instance; does memory stay flat, p99 stable?

The service runs as ``make run`` starts it (``azora serve``, anchoring on, its own local
anvil on ``--chain-port``, data under a temporary directory) on a fresh database
(``$AZORA_TEST_PG_URL`` with the database ``azora_bench_soak``, recreated). ``--threads``
keep-alive clients mix, by weight:

- ``entry``: ``POST /v1/entries`` (USD, one posting); ``earn``: ``POST /v1/rewards/events``
  (an AZR earning: a token-log leaf, anchored every ``--anchor-interval`` seconds);
- ``account``: ``GET /v1/accounts/{id}``; ``list``: ``GET /v1/accounts/{id}/entries``;
- ``proof``: ``GET /v1/proofs/entries/{id}`` of an earning (409 ``not-anchored`` while no
  anchor covers it yet is counted apart, not as an error); ``board``: the global leaderboard;
- ``purchase``: a buyer (user token) buys a course (local provider, ``pm_card_visa``);
- ``billing``: a new user subscribes to ``pro`` then upgrades to ``enterprise`` (prorated);

and a webhook endpoint for ``reward.*`` delivers to a receiver in this process. Every minute
it prints requests by kind, errors, p50/p99, webhook deliveries, the RSS of the server's
processes (the serving tree, anvil apart, from /proc) and the load
average. At the end: memory flat (the last minute's RSS within ``--flat-pct`` of minute 2)
and p99 stable (the last minute's p99 at most ``--p99-factor`` times minute 2's).

Usage: ``.venv/bin/python bench/soak.py [--minutes 10] [--threads 4] [--port 18300]
[--chain-port 18556] [--hook-port 18301] [--url URL]``
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from api_throughput import start_server
from benchdb import bench_url, fresh_database, pct

WEIGHTS = {
    "entry": 30,
    "earn": 15,
    "account": 15,
    "list": 10,
    "proof": 10,
    "board": 8,
    "purchase": 7,
    "billing": 5,
}
USERS = 200
COURSES = 40
RULE = "lesson.completed"
VISA = "pm_card_visa"


@dataclass
class Minute:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    not_anchored: int = 0
    first_error: str = ""


class Stats:
    """Per-minute counters, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: defaultdict[int, Minute] = defaultdict(Minute)
        self.start = time.monotonic()
        self.deliveries: Counter[int] = Counter()

    def minute(self) -> int:
        return int((time.monotonic() - self.start) // 60)

    def record(self, kind: str, ms: float, response: httpx.Response | None, ok: bool) -> None:
        with self.lock:
            m = self.minutes[self.minute()]
            m.requests[kind] += 1
            m.latencies_ms.append(ms)
            if response is not None and response.status_code == 409 and kind == "proof":
                m.not_anchored += 1
            elif not ok:
                m.errors[kind] += 1
                m.first_error = m.first_error or (
                    f"{kind}: {response.status_code} {response.text[:160]}"
                    if response is not None
                    else f"{kind}: no answer"
                )


def receiver(port: int, stats: Stats) -> ThreadingHTTPServer:
    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with stats.lock:
                stats.deliveries[stats.minute()] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Load:
    """What the clients share: the ids to read, the buyers' tokens, the next unique ids."""

    def __init__(self, base: str, admin_key: str, hook_port: int) -> None:
        self.base = base
        self.auth = {"Authorization": f"Bearer {admin_key}"}
        self.admin = httpx.Client(base_url=base, headers=self.auth, timeout=30)
        self.lock = threading.Lock()
        self.counter = 0
        self.earned: list[tuple[float, str]] = []  # (when, entry id)
        self.courses: list[str] = []
        self.tokens: dict[int, str] = {}
        self._setup(hook_port)

    def _setup(self, hook_port: int) -> None:
        a = self.admin
        ok = a.post(
            "/v1/accounts", json={"id": "world:soak", "asset": "USD", "allow_negative": True}
        )
        ok.raise_for_status()
        for i in range(USERS):
            a.post("/v1/accounts", json={"id": f"user:s{i}:usd", "asset": "USD"}).raise_for_status()
        a.put(f"/v1/rewards/rules/{RULE}", json={"amount": "1"}).raise_for_status()
        a.post(
            "/v1/users/seller/subscription",
            headers={"Idempotency-Key": "soak-seller"},
            json={"plan": "enterprise", "payment_method": VISA},
        ).raise_for_status()
        for i in range(COURSES):
            made = a.post(
                "/v1/courses",
                json={
                    "title": f"Soak {i}",
                    "category": "soak",
                    "level": "beginner",
                    "language": "en",
                    "price": "9.99",
                    "instructor_id": "seller",
                },
            )
            made.raise_for_status()
            a.post(f"/v1/courses/{made.json()['id']}/publish").raise_for_status()
            self.courses.append(made.json()["id"])
        hook = {"url": f"http://127.0.0.1:{hook_port}/hook", "kinds": ["reward.*"]}
        a.post("/v1/webhooks", json=hook).raise_for_status()

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def buyer_token(self, buyer: int) -> str:
        with self.lock:
            token = self.tokens.get(buyer)
        if token is None:
            got = self.admin.post("/v1/admin/tokens", json={"user_id": f"buyer{buyer}"})
            token = str(got.raise_for_status().json()["token"])
            with self.lock:
                self.tokens[buyer] = token
        return token

    def anchored_candidate(self, rng: random.Random) -> str | None:
        """An earning old enough that an anchor may cover it."""
        with self.lock:
            old = [e for t, e in self.earned[-5000:] if time.monotonic() - t > 15]
        return rng.choice(old) if old else None


Sent = list[tuple[httpx.Response, int]]  # each response and the status it should have


def one_request(load: Load, client: httpx.Client, kind: str, rng: random.Random) -> Sent:
    """Sends the requests of one ``kind`` of operation."""
    n = load.next_id()
    user = rng.randrange(USERS)
    if kind == "entry":
        posting = {"source": "world:soak", "destination": f"user:s{user}:usd", "asset": "USD"}
        body = {"kind": "soak.transfer", "postings": [{**posting, "amount": "1.25"}]}
        return [(client.post("/v1/entries", json=body, headers={"Idempotency-Key": f"e{n}"}), 201)]
    if kind == "earn":
        event = {"event_id": f"soak-{n}", "user_id": f"s{n % 5000}", "type": RULE}
        got = client.post("/v1/rewards/events", json=event)
        if got.status_code == 201:
            with load.lock:
                load.earned.append((time.monotonic(), got.json()["entry_id"]))
        return [(got, 201)]
    if kind == "account":
        return [(client.get(f"/v1/accounts/user:s{user}:usd"), 200)]
    if kind == "list":
        return [(client.get(f"/v1/accounts/user:s{user}:usd/entries", params={"limit": 50}), 200)]
    if kind == "proof":
        entry = load.anchored_candidate(rng)
        return [] if entry is None else [(client.get(f"/v1/proofs/entries/{entry}"), 200)]
    if kind == "board":
        return [(client.get("/v1/leaderboards/global", params={"limit": 100}), 200)]
    if kind == "purchase":
        buyer, course = divmod(n, COURSES)
        auth = {"Authorization": f"Bearer {load.buyer_token(buyer)}"}
        got = client.post(
            f"/v1/courses/{load.courses[course]}/purchases",
            json={"payment_method": VISA},
            headers={**auth, "Idempotency-Key": f"p{n}"},
        )
        return [(got, 201)]
    sent = []
    for plan in ("pro", "enterprise"):  # billing: subscribe, then upgrade (prorated)
        got = client.post(
            f"/v1/users/bill{n}/subscription",
            json={"plan": plan, "payment_method": VISA},
            headers={"Idempotency-Key": f"b{n}-{plan}"},
        )
        sent.append((got, 200))
    return sent


def client_loop(load: Load, stats: Stats, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    with httpx.Client(base_url=load.base, headers=load.auth, timeout=30) as client:
        while not stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            t0 = time.perf_counter()
            try:
                sent = one_request(load, client, kind, rng)
            except httpx.HTTPError:
                stats.record(kind, (time.perf_counter() - t0) * 1000, None, False)
                continue
            if sent:
                ms = (time.perf_counter() - t0) * 1000 / len(sent)
                wrong = [r for r, status in sent if r.status_code != status]
                stats.record(kind, ms, (wrong or [sent[-1][0]])[0], not wrong)


def tree_rss(root: int) -> tuple[int, int, int]:
    """RSS in bytes of the serving processes under ``root`` and of anvil, and how many
    (read from /proc: Linux only)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(kids)
        frontier += kids
    serving = anvil = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        if "anvil" in fields.get("Name", ""):
            anvil += rss
        else:
            serving += rss
    return serving, anvil, len(tree)


def report(stats: Stats, minute: int, rss: tuple[int, int, int]) -> tuple[float, int]:
    with stats.lock:
        m = stats.minutes[minute]
        lat = list(m.latencies_ms)
        deliveries = stats.deliveries[minute]
    kinds = " ".join(f"{k}={m.requests[k]}" for k in WEIGHTS)
    p99 = pct(lat, 0.99)
    load1 = os.getloadavg()[0]
    print(
        f"min {minute + 1:>2}: {sum(m.requests.values()):>6} req ({kinds}) | errors "
        f"{sum(m.errors.values())} | not-anchored {m.not_anchored} | p50 {pct(lat, 0.5):.1f} "
        f"ms p99 {p99:.1f} ms | hooks {deliveries} | RSS {rss[0] / 2**20:.0f} MiB "
        f"({rss[2]} procs, anvil {rss[1] / 2**20:.0f} MiB) | load {load1:.1f}",
        flush=True,
    )
    if m.first_error:
        print(f"        first error: {m.first_error}")
    return p99, rss[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=18300)
    parser.add_argument("--chain-port", type=int, default=18556)
    parser.add_argument("--hook-port", type=int, default=18301)
    parser.add_argument("--anchor-interval", type=float, default=10.0)
    parser.add_argument("--flat-pct", type=float, default=15.0)
    parser.add_argument("--p99-factor", type=float, default=2.0)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    assert args.minutes >= 1 and args.threads >= 1
    url = fresh_database(args.url or bench_url("azora_bench_soak"))
    admin_key = "soak-admin-" + secrets.token_hex(24)
    data = tempfile.mkdtemp(prefix="azora-soak-")
    env = {
        "AZORA_DATA_DIR": data,
        "AZORA_CHAIN_RPC_URL": f"http://127.0.0.1:{args.chain_port}",
        "AZORA_ANCHOR_INTERVAL_S": str(args.anchor_interval),
        "AZORA_WEBHOOK_INTERVAL_S": "0.5",
    }
    stats = Stats()
    hooks = receiver(args.hook_port, stats)
    log = Path(data) / "server.log"
    process, base = start_server(url, admin_key, log, anchoring=True, port=args.port, env_extra=env)
    stop = threading.Event()
    try:
        load = Load(base, admin_key, args.hook_port)
        print(f"soak: {args.minutes} min, {args.threads} clients, {base}, server log {log}")
        stats.start = time.monotonic()
        stats.deliveries.clear()
        clients = [
            threading.Thread(target=client_loop, args=(load, stats, stop, i), daemon=True)
            for i in range(args.threads)
        ]
        for c in clients:
            c.start()
        rows = []
        for minute in range(args.minutes):
            time.sleep(max(0.0, stats.start + 60 * (minute + 1) - time.monotonic()))
            rows.append(report(stats, minute, tree_rss(process.pid)))
        stop.set()
        for c in clients:
            c.join(timeout=60)
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=60)
        hooks.shutdown()
    verdict(rows, args.flat_pct, args.p99_factor)


def verdict(rows: list[tuple[float, int]], flat_pct: float, p99_factor: float) -> None:
    """Memory flat and p99 stable: the last minute against minute 2 (the first one warm)."""
    ref = rows[1] if len(rows) > 2 else rows[0]  # minute 2, unless it is the last
    last = rows[-1]
    growth = 100.0 * (last[1] - ref[1]) / ref[1]
    flat = growth <= flat_pct
    stable = last[0] <= p99_factor * ref[0]
    print(
        f"memory: {'flat' if flat else 'GROWING'} (last minute {last[1] / 2**20:.0f} MiB, "
        f"minute {rows.index(ref) + 1} {ref[1] / 2**20:.0f} MiB, {growth:+.1f} %, "
        f"limit {flat_pct:.0f} %)"
    )
    print(
        f"p99: {'stable' if stable else 'UNSTABLE'} (last minute {last[0]:.1f} ms, minute "
        f"{rows.index(ref) + 1} {ref[0]:.1f} ms, limit {p99_factor:.1f}x)"
    )


if __name__ == "__main__":
    main()

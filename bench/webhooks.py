"""Webhook delivery throughput: the worker against a plain POST loop, same receiver, same run.

    python bench/webhooks.py [--events 1000] [--endpoints 4] [--workers 2]

Prints deliveries per second of W worker threads serving E endpoints (claims, signatures,
the delivery log, one database round trip per delivery), then a bare httpx loop POSTing the
same number of bodies to the same local receiver, and their ratio. The receiver answers
204 at once. Figures of one machine, one run: compare the ratio, not the absolute rates.
"""

from __future__ import annotations

import argparse
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from benchdb import bench_url, fresh_database

from ledger import Account, Ledger, NewEntry, Posting
from ledger.store.engine import make_engine
from monetization.webhooks import StaticResolver, WebhooksConfig, build_webhooks

PORT = 28199


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = fresh_database(bench_url("azora_bench_webhooks"))
    engine = make_engine(url)
    config = WebhooksConfig(strict=False)
    resolver = StaticResolver()
    with Ledger(engine) as book:
        book.create_account(Account("world:card", "USD", allow_negative=True))
        book.create_account(Account("user:a:usd", "USD"))
        webhooks = build_webhooks(
            engine, book, config, utcnow, secrets=lambda: [secrets.token_hex(32)], resolver=resolver
        )
        for n in range(args.endpoints):
            webhooks.endpoints.create("key:bench", f"http://127.0.0.1:{PORT}/h{n}")
        posting = Posting("world:card", "user:a:usd", "USD", 1)
        book.post_entries([(NewEntry("bench", (posting,)), None) for _ in range(args.events)])
        total = args.events * args.endpoints
        delivered = [0]
        lock = threading.Lock()

        def work() -> None:
            while True:
                report = webhooks.deliver(max_endpoints=1)
                with lock:
                    delivered[0] += report.delivered
                    if delivered[0] >= total:
                        return
                if report.endpoints == 0:
                    time.sleep(0.001)

        started = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        worker_s = time.perf_counter() - started
        webhooks.close()
    engine.dispose()
    body = b'{"seq":1,"kind":"bench","postings":[]}' * 8
    with httpx.Client() as client:
        started = time.perf_counter()
        for n in range(total):
            client.post(f"http://127.0.0.1:{PORT}/h{n % args.endpoints}", content=body)
        plain_s = time.perf_counter() - started
    server.shutdown()
    worker_rate, plain_rate = total / worker_s, total / plain_s
    print(f"deliveries: {total} ({args.events} events x {args.endpoints} endpoints)")
    print(f"worker ({args.workers} threads, PostgreSQL log): {worker_rate:8.0f} deliveries/s")
    print(f"plain httpx POST loop, 1 thread:          {plain_rate:8.0f} POSTs/s")
    print(f"ratio worker / plain:                     {worker_rate / plain_rate:8.2f}")


if __name__ == "__main__":
    main()

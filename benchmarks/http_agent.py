"""What the HTTP agent costs per request, next to a bare ``http.client`` call.

A local ``ThreadingHTTPServer`` answers every request with a small JSON body. Each row
makes the same GET and reads the whole response; the ratio column is against the bare
``http.client`` call that opens a new connection per request (the agent does the same).
Run: ``python benchmarks/http_agent.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runtara.agents.http import http_request
from runtara.agents.invoke import invoke

BODY = json.dumps({"id": 42, "items": [{"sku": "A-1", "qty": 2}], "ok": True}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One segment per response: no Nagle / delayed-ACK stalls distorting the numbers.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(ports: multiprocessing.Queue[int]) -> None:
    """The server runs in its own process so it does not share the GIL with the client."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ports.put(int(server.server_address[1]))
    server.serve_forever()


def measure(
    variants: list[tuple[str, Callable[[], object]]], requests: int, rounds: int
) -> list[tuple[str, float]]:
    """Median seconds per request for each variant; rounds interleave the variants so
    that drift (CPU frequency, other load) hits them all alike."""
    for _, call in variants:
        for _ in range(min(requests, 50)):
            call()
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(rounds):
        for name, call in variants:
            started = time.perf_counter()
            for _ in range(requests):
                call()
            samples[name].append((time.perf_counter() - started) / requests)
    return [(name, statistics.median(samples[name])) for name, _ in variants]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    host, port = "127.0.0.1", ports.get(timeout=30)
    url = f"http://{host}:{port}/orders/42"
    kept_alive = http.client.HTTPConnection(host, port)

    def bare_new_connection() -> object:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("GET", "/orders/42")
        body = connection.getresponse().read()
        connection.close()
        return json.loads(body)

    def bare_kept_alive() -> object:
        kept_alive.request("GET", "/orders/42")
        return json.loads(kept_alive.getresponse().read())

    def agent_function() -> object:
        return http_request(url=url)

    def agent_invoke() -> object:
        return invoke("http", "http-request", {"url": url}, step_id="bench")

    bearer = {"integration_id": "http_bearer", "parameters": {"token": "t" * 40, "base_url": url}}

    def agent_invoke_with_connection() -> object:
        return invoke("http", "http-request", {"url": ""}, connection=bearer, step_id="bench")

    rows = [
        ("bare http.client, new connection (baseline)", bare_new_connection),
        ("bare http.client, kept-alive connection", bare_kept_alive),
        ("http_request() called directly", agent_function),
        ("invoke('http', 'http-request') (what workflows run)", agent_invoke),
        ("invoke(...) with a bearer connection", agent_invoke_with_connection),
    ]
    try:
        results = measure(rows, args.requests, args.rounds)
    finally:
        server.terminate()
        server.join()

    baseline = results[0][1]
    width = max(len(name) for name, _ in results)
    print(f"HTTP agent overhead: {args.requests} GETs x {args.rounds} rounds, median per request")
    print(f"{'variant'.ljust(width)}  {'µs/request':>11}  {'vs baseline':>11}  {'overhead µs':>11}")
    for name, seconds in results:
        print(
            f"{name.ljust(width)}  {seconds * 1e6:11.1f}  {seconds / baseline:10.2f}x"
            f"  {(seconds - baseline) * 1e6:+11.1f}"
        )


if __name__ == "__main__":
    main()

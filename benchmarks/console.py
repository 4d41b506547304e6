"""Weight and first render of the console's pages in Chromium (Debian's, via Playwright).

Serves an embedded dev runtime with 60 finished instances (one of them a Split over 100
items: 300 checkpoints), then loads each console page ``--runs`` times in headless
Chromium, each time as a first visit (a new browser context, nothing cached), and prints one table: bytes transferred (page, stylesheet, script, icon),
requests, first contentful paint and load, median of the runs; then the same page
visited again (static files cached). Beside them, the same
run's baselines: the management API's JSON for the same list, and ``/health``.
Run: ``python benchmarks/console.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from runtara.runtime.embedded import EmbeddedRuntime

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const all = [nav, ...resources];
  return {
    bytes: all.reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0),
    requests: all.length,
    fcp: paint ? paint.startTime : null,
    load: nav.loadEventEnd,
  };
}"""


def ref(path: str) -> dict[str, Any]:
    return {"valueType": "reference", "value": path}


BATCH = {
    "name": "batch",
    "entryPoint": "start",
    "steps": {
        "start": {"stepType": "Log", "id": "start", "name": "Begin", "message": "starting"},
        "each": {
            "stepType": "Split",
            "id": "each",
            "name": "Every order",
            "config": {"value": ref("data.orders"), "sequential": True},
            "subgraph": {
                "entryPoint": "check",
                "steps": {
                    "check": {"stepType": "Log", "id": "check", "message": "checking"},
                    "book": {"stepType": "Log", "id": "book", "message": "booked"},
                    "kept": {
                        "stepType": "Finish",
                        "id": "kept",
                        "inputMapping": {"o": ref("data")},
                    },
                },
                "executionPlan": [
                    {"fromStep": "check", "toStep": "book"},
                    {"fromStep": "book", "toStep": "kept"},
                ],
            },
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {"n": ref("steps.each.outputs")},
        },
    },
    "executionPlan": [
        {"fromStep": "start", "toStep": "each"},
        {"fromStep": "each", "toStep": "done"},
    ],
}


def wait_all(api: httpx.Client, ids: list[str]) -> None:
    deadline = time.monotonic() + 300
    for instance_id in ids:
        while api.get(f"/v1/instances/{instance_id}").json()["status"] != "completed":
            if time.monotonic() > deadline:
                raise SystemExit(f"{instance_id} did not complete")
            time.sleep(0.1)


def measure(browser: Any, url: str, runs: int) -> dict[str, float]:
    """Each run in a new browser context: a first visit (nothing cached), then a second
    visit (stylesheet, script and icon cached)."""
    cold, warm = [], []
    for _ in range(runs):
        context = browser.new_context(extra_http_headers={"X-Runtara-Tenant": "default"})
        page = context.new_page()
        page.goto(url, wait_until="load")
        cold.append(page.evaluate(MEASURE))
        page.goto("about:blank")
        page.goto(url, wait_until="load")
        warm.append(page.evaluate(MEASURE))
        context.close()
    out = {}
    for name, samples in (("cold", cold), ("warm", warm)):
        for key in ("bytes", "requests", "fcp", "load"):
            values = [s[key] for s in samples if s[key] is not None]
            out[f"{name} {key}"] = statistics.median(values) if values else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'bench.db'}"
        with EmbeddedRuntime(database, dev=True) as runtime:
            api = httpx.Client(base_url=runtime.url, headers={"X-Runtara-Tenant": "default"})
            assert (
                api.post("/v1/images", json={"name": "batch", "workflow": BATCH}).status_code == 201
            )
            orders = [{"id": f"order-{n}", "total": n * 3} for n in range(100)]
            big = api.post("/v1/instances", json={"image": "batch", "input": {"orders": orders}})
            ids = [big.json()["id"]]
            for n in range(59):
                started = api.post(
                    "/v1/instances", json={"image": "batch", "input": {"orders": [n]}}
                )
                ids.append(started.json()["id"])
            wait_all(api, ids)
            image_id = api.get("/v1/images").json()["images"][0]["id"]
            pages = [
                ("instances list (50 rows)", "/ui/"),
                ("instance (300 checkpoints)", f"/ui/instances/{ids[0]}"),
                ("instance (small)", f"/ui/instances/{ids[1]}"),
                ("images", "/ui/images"),
                ("image (graph)", f"/ui/images/{image_id}"),
                ("baseline: API JSON, same list", "/v1/instances?limit=50"),
                ("baseline: /health", "/health"),
            ]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                print(
                    f"{'page':32} {'first visit: KB':>15} {'req':>4} {'paint ms':>9}"
                    f" {'load ms':>8} | {'again: KB':>9} {'paint ms':>9}",
                    flush=True,
                )
                for name, path in pages:
                    m = measure(browser, runtime.url + path, options.runs)
                    print(
                        f"{name:32} {m['cold bytes'] / 1024:15.1f} {m['cold requests']:4.0f}"
                        f" {m['cold fcp']:9.0f} {m['cold load']:8.0f} |"
                        f" {m['warm bytes'] / 1024:9.1f} {m['warm fcp']:9.0f}",
                        flush=True,
                    )
                browser.close()


if __name__ == "__main__":
    main()

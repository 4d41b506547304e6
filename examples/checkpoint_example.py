"""Runtara's order batch, in Python: 1,000 orders, each one a durable step.

    runtara server --dev                       # terminal 1
    python examples/checkpoint_example.py      # terminal 2; kill it half way, run it again

A rerun with the same instance id continues where it stopped; no order is lost and no
order is charged twice. The pattern: do the work inside a ``@durable`` step, whose
result is checkpointed *after* the work succeeded, and give the side effect an
idempotency key. A crash between the work and its checkpoint runs that one order again
on the rerun (at least once); the key lets the receiving service (here the ledger file)
recognise the repeat, so the effect happens once.

The other order, checkpoint first and then the work, is *at most once*: a crash after
the checkpoint and before the work skips that order forever. Use it only for work that
may be lost but must never repeat::

    result = rt.checkpoint(f"order-{order['id']}", {"index": index})
    if result.existing_state is None:
        process(order)        # never twice; lost if the process dies right here

``runtara instances pause|resume|cancel order-batch-001 --tenant tenant-1`` steers it.

Environment: ``RUNTARA_URL`` (default http://127.0.0.1:8001), ``ORDER_BATCH_ID``
(instance id, default order-batch-001), ``ORDER_COUNT`` (1000), ``ORDER_LEDGER`` (the
side-effect file, default .data/order-ledger.txt), ``ORDER_DELAY_MS`` (work per order,
default 10, so the batch takes about ten seconds: long enough to interrupt by hand).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from runtara.sdk import (
    Cancelled,
    ConfigurationError,
    Paused,
    ProtocolError,
    Runtara,
    RuntimeUnavailable,
    durable,
)

TENANT = "tenant-1"


class Ledger:
    """Stands in for a payment service that honours idempotency keys: an order id it has
    seen before is answered with the first receipt and not applied again."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.applied = {line for line in path.read_text().split()} if path.exists() else set()
        # O_APPEND: every line written survives a kill -9 of this process.
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def charge(self, idempotency_key: str) -> dict[str, str]:
        if idempotency_key not in self.applied:
            os.write(self.fd, f"{idempotency_key}\n".encode())
            self.applied.add(idempotency_key)
        return {"receipt": f"r-{idempotency_key}"}


def fetch_pending_orders(count: int) -> list[dict[str, int]]:
    return [{"id": n, "amount_cents": 100 * n} for n in range(1, count + 1)]


def main() -> int:
    instance_id = os.environ.get("ORDER_BATCH_ID", "order-batch-001")
    orders = fetch_pending_orders(int(os.environ.get("ORDER_COUNT", "1000")))
    delay = float(os.environ.get("ORDER_DELAY_MS", "10")) / 1000
    ledger = Ledger(Path(os.environ.get("ORDER_LEDGER", ".data/order-ledger.txt")))

    @durable(name="process_order", retries=3, retry_delay=0.5)
    def process_order(order_id: int, amount_cents: int) -> dict[str, str]:
        """Validate payment, reserve inventory, notify shipping -- here: one ledger line.

        Its result is checkpointed when it returns; a rerun after that returns the saved
        receipt without calling it. ``order_id`` is the idempotency key."""
        if delay:
            time.sleep(delay)
        return ledger.charge(str(order_id))

    rt = Runtara.localhost(instance_id, TENANT)
    try:
        rt.register()
    except ProtocolError as exc:  # e.g. 409: this batch already completed or was cancelled
        print(f"cannot run {instance_id}: {exc.detail}", file=sys.stderr)
        print("set ORDER_BATCH_ID to start a new batch", file=sys.stderr)
        return 1
    try:
        for order in orders:
            process_order(order["id"], order["amount_cents"])
    except Paused:  # raised after the order's result was saved: resuming starts at the next
        rt.suspended()
        print("paused; `runtara instances resume` it, then run this again", file=sys.stderr)
        return 0
    except Cancelled:  # the instance is already `cancelled`; nothing more runs
        print("cancelled", file=sys.stderr)
        return 0
    rt.completed({"processed": len(orders)})
    print(f"all {len(orders)} orders processed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ConfigurationError, RuntimeUnavailable) as exc:  # bad RUNTARA_URL, no server
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C is one of the crashes the quick start invites
        print("interrupted; run the same command again to continue", file=sys.stderr)
        sys.exit(130)

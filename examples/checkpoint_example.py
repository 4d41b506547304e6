"""Runtara's order batch, in Python: 1,000 orders, one checkpoint per order.

    runtara server --dev                       # terminal 1
    python examples/checkpoint_example.py      # terminal 2; kill it half way, run it again

A rerun with the same instance id continues with the next order: every order's side
effect (here, one line appended to a ledger file) happens at most once, ever.
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

from runtara.sdk import ConfigurationError, ProtocolError, Runtara, RuntimeUnavailable

TENANT = "tenant-1"


def fetch_pending_orders(count: int) -> list[dict[str, int]]:
    return [{"id": n, "amount_cents": 100 * n} for n in range(1, count + 1)]


def process_order(order: dict[str, int], ledger: int, delay: float) -> None:
    """Validate payment, reserve inventory, notify shipping -- here: one ledger line."""
    if delay:
        time.sleep(delay)
    os.write(ledger, f"{order['id']}\n".encode())  # O_APPEND: survives a kill -9 of this process


def main() -> int:
    instance_id = os.environ.get("ORDER_BATCH_ID", "order-batch-001")
    orders = fetch_pending_orders(int(os.environ.get("ORDER_COUNT", "1000")))
    delay = float(os.environ.get("ORDER_DELAY_MS", "10")) / 1000
    ledger_path = Path(os.environ.get("ORDER_LEDGER", ".data/order-ledger.txt"))
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    ledger = os.open(ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    rt = Runtara.localhost(instance_id, TENANT)
    try:
        rt.register()
    except ProtocolError as exc:  # e.g. 409: this batch already completed or was cancelled
        print(f"cannot run {instance_id}: {exc.detail}", file=sys.stderr)
        print("set ORDER_BATCH_ID to start a new batch", file=sys.stderr)
        return 1
    for index, order in enumerate(orders):
        result = rt.checkpoint(f"order-{order['id']}", {"index": index})
        if result.should_cancel:
            print(f"cancelled before order {order['id']}", file=sys.stderr)
            return 0  # the instance is already `cancelled`; nothing more runs
        if result.existing_state is None:
            # First time this order is seen: the checkpoint now marks it taken, so this
            # runs once per order, ever (a crash right here skips it on the rerun).
            process_order(order, ledger, delay)
        if result.should_pause:
            # Stop AFTER finishing the order this checkpoint took, so that resuming (which
            # skips every checkpointed order) does not leave it undone.
            rt.suspended()
            print(f"paused after order {order['id']}", file=sys.stderr)
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

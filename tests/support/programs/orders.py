"""A workflow written in Python against ``runtara.sdk``, as a runner launches it.

Input: ``count`` orders and ``sleep_s``. Each order is a ``@durable`` step; a durable
sleep after the first half ends the process (the runner starts it again when the sleep
is over); the output sums the receipts.
The native tests compile this file (``runtara compile orders.py``) and compare the
binary's output, under the process and docker runners, with this file's under Python.
"""

from __future__ import annotations

import sys

from runtara.sdk import Runtara, durable

rt = Runtara.from_env().register()
config = rt.input or {}
count = int(config.get("count", 4))


@durable(name="charge")
def charge(order_id: int) -> dict[str, int]:
    return {"order": order_id, "cents": 100 * order_id}


receipts = [charge(n) for n in range(1, count // 2 + 1)]
rt.durable_sleep(float(config.get("sleep_s", 0.5)), key="between-halves")
receipts += [charge(n) for n in range(count // 2 + 1, count + 1)]
print(f"charged {len(receipts)} orders", file=sys.stderr, flush=True)
rt.completed({"orders": len(receipts), "cents": sum(r["cents"] for r in receipts)})

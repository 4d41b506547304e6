"""A test instance: ``items`` checkpointed steps, each appending its index to ``effects``.

Input: ``items`` (3), ``effects`` (a file path), ``delay`` (seconds per step),
``sleep_at`` / ``sleep_s`` (a durable sleep before that item), ``fail`` (report failure),
``exit_code`` (exit without reporting), ``print_items`` (a stdout line per item).
"""

import sys
import time

from runtara.sdk import Runtara

rt = Runtara.from_env().register()
config = rt.input
print(f"started {rt.instance_id}", flush=True)
print("a line on stderr", file=sys.stderr, flush=True)
if "exit_code" in config:
    sys.exit(config["exit_code"])
for i in range(config.get("items", 3)):
    if config.get("sleep_at") == i:
        rt.durable_sleep(config.get("sleep_s", 2), key="nap")
    result = rt.checkpoint(f"item-{i}", {"i": i})
    if result.should_cancel:
        sys.exit(0)
    if result.existing_state is None:  # saved just now: this item's work is due, once
        if config.get("print_items"):
            print(f"item {i}", flush=True)
        with open(config["effects"], "a") as effects:
            effects.write(f"{i}\n")
        time.sleep(config.get("delay", 0))
    if result.should_pause:
        rt.suspended()
        sys.exit(0)
if config.get("fail"):
    rt.failed({"message": config["fail"]})
else:
    rt.completed({"items": config.get("items", 3)})

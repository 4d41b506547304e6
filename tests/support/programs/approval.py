"""A test instance that waits for a signal without holding a process.

``wait_for_signal`` under a runner ends the process while nothing has arrived; the
``approve`` signal (and no other) starts it again, and it completes with the payload.
With ``{"timeout_s": N}`` as input, the wait ends at that deadline instead.
"""

from runtara.sdk import Runtara

rt = Runtara.from_env().register()
timeout = (rt.input or {}).get("timeout_s")
payload = rt.wait_for_signal("approve", timeout=timeout)
if payload is None:
    rt.completed({"approved_by": None, "timed_out": True})
else:
    rt.completed({"approved_by": payload["by"]})

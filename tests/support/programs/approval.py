"""A test instance that waits for a signal without holding a process.

It looks for the ``approve`` signal; if none has arrived it sleeps durably (the
process ends) and is started again when the signal comes, then completes with it.
"""

from runtara.sdk import Runtara

rt = Runtara.from_env().register()
payload = rt.wait_for_signal("approve", timeout=0)
if payload is None:
    rt.durable_sleep(3600, key="waiting-for-approve")
rt.completed({"approved_by": payload["by"]})

"""The SDK's own background threads (the heartbeat, the checkpoint flusher), on small stacks.

Where an instance's memory tier is enforced as an address-space limit, every thread
reserves the tier's stack size (RLIMIT_STACK: 4 MiB at tier M) whether it uses it or
not; with a Split's workers and their step threads, the SDK's own two threads were the
ones that made ``can't start new thread`` at tier M in a native binary. They only send
small HTTP requests, so they run on ``SERVICE_STACK_BYTES``; the workflow's threads keep
the tier's stack. They are started from ``Runtara.register`` on the main thread, before
any workflow thread exists, because ``threading.stack_size`` is process-wide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Stack of a service thread: ample for http.client, json and base64 (they use little C
#: stack), and an eighth of tier M's.
SERVICE_STACK_BYTES = 512 << 10

_creating = threading.Lock()


def start_service_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """Start ``target`` as a daemon thread on a ``SERVICE_STACK_BYTES`` stack."""
    with _creating:
        previous = threading.stack_size(SERVICE_STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread

"""Progress for people, from inside an instance (standard library only): the SDK's
steps and the agents (an HTTP call retried on a 503) report through ``report``.

Each report is one line on stderr (stdout belongs to the workflow output). When the
process that started the instance asks for events instead (``runtara run`` sets
``RUNTARA_PROGRESS_FD`` to the write end of a pipe), each report is one JSON object
on that descriptor, with a ``kind`` that says what it is, so that the host can render
it (a retry with its cause and wait, a countdown for a durable sleep) or silence it:

    {"kind": "message", "text": "..."}
    {"kind": "log", "text": "[info] step: ..."}      (a Log step: shown under --quiet too)
    {"kind": "error", "text": "runtara: failed: ..."} (how it failed: shown under --quiet too)
    {"kind": "retry", "text": "...", "step": "...", "attempt": 1, "attempts": 3,
     "cause": "...", "wait_s": 2.0}
    {"kind": "sleep", "text": "...", "seconds": 5.0}

A report whose ``text`` is None is for the event channel only (a countdown): on
stderr it says nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from typing import IO, Any

ENV = "RUNTARA_PROGRESS_FD"

_lock = threading.Lock()
_channel: IO[str] | None = None
_opened = False


def report(text: str | None, kind: str = "message", **fields: Any) -> None:
    """Tell the person watching: ``text`` on stderr, or an event on the host's channel."""
    with _lock:
        channel = _open()
        if channel is not None:
            try:
                channel.write(json.dumps({"kind": kind, "text": text, **fields}, default=str))
                channel.write("\n")
                channel.flush()
                return
            except (OSError, ValueError):  # the host went away: fall back to stderr
                _close()
        if text is not None:
            print(text, file=sys.stderr, flush=True)


def _open() -> IO[str] | None:
    global _channel, _opened
    if not _opened:
        _opened = True
        number = os.environ.get(ENV, "")
        if number.isdigit():
            try:
                _channel = os.fdopen(int(number), "w", encoding="utf-8", closefd=True)
            except OSError:
                _channel = None
    return _channel


def _close() -> None:
    global _channel
    channel, _channel = _channel, None
    if channel is not None:
        with contextlib.suppress(OSError):
            channel.close()

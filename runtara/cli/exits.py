"""The exit statuses of every ``runtara`` command: one table, shown in ``runtara --help``
and the README (a test keeps the two equal), used by every command through ``Exit``."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a command's exit status means, whichever command it is (see ``TABLE``)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    STOPPED = 3
    INTERNAL = 70
    INTERRUPTED = 130


#: (status, meaning) rows, in order; the help epilog and the README render these.
TABLE = [
    (Exit.OK, "done: valid, generated, completed, sent, listed"),
    (
        Exit.FAILED,
        "failed: the workflow has errors or failed, a build or push failed, "
        "the runtime refused the request or cannot be reached",
    ),
    (
        Exit.USAGE,
        "could not start: bad flag or argument, invalid JSON, missing or "
        "unreadable file, invalid setting",
    ),
    (Exit.STOPPED, "the instance is suspended (paused) or cancelled"),
    (Exit.INTERNAL, "internal error, a bug (RUNTARA_DEBUG=1 shows the traceback)"),
    (Exit.INTERRUPTED, "interrupted (Ctrl-C)"),
]


def help_epilog() -> str:
    """The table for ``runtara --help`` (one line per status)."""
    return "Exit status, for every command:\n\n" + "\n\n".join(
        f"{int(code):>3}  {meaning}" for code, meaning in TABLE
    )


def markdown_table() -> str:
    """The table as the README shows it."""
    rows = "\n".join(f"| {int(code)} | {meaning} |" for code, meaning in TABLE)
    return f"| exit | meaning |\n|---|---|\n{rows}\n"

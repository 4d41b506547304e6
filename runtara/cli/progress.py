"""Feedback on long work, on stderr: ``compile``, ``push`` and ``run`` report through one
``Feedback``, whatever the library tells them (phases, counts, uploads, retries, sleeps).

- On a terminal: a live display. The current phase with a spinner and its elapsed
  time, a bar where the work is countable (C files, layers, bytes uploaded, the
  seconds of a wait); a phase that ends stays as one line with the time it took.
- Otherwise (a log, a pipe): one line per phase as it begins, each retry and each
  finished upload; no bars, no control characters.
- With ``--quiet``: nothing (errors still go to stderr, results to stdout).
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar
from rich.table import Column
from rich.text import Text

from runtara.cli._common import stderr

Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress on stderr (phases, retries, waits); errors and results still print.",
    ),
]


class Feedback:
    """Progress of one command's long work (use it as a context manager)."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or stderr
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn(
                "{task.description}",
                table_column=Column(no_wrap=True, overflow="ellipsis", max_width=30),
            ),
            _Bar(table_column=Column(no_wrap=True)),
            _Figures(table_column=Column(no_wrap=True)),
            TextColumn("[dim]{task.fields[detail]}", table_column=Column(no_wrap=True)),
            TimeElapsedColumn(table_column=Column(no_wrap=True)),
            console=self.console,
            transient=True,
            # stdout is the command's result: it never joins the display on stderr
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._phase: TaskID | None = None
        self._phase_text = ""
        self._phase_started = 0.0
        self._waits: dict[TaskID, float] = {}  # countdown -> its deadline
        self._uploads: dict[str, TaskID] = {}

    def __enter__(self) -> Feedback:
        if self.live:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.end_phase(failed=exc_info[0] is not None)
        if self.live:
            self._progress.stop()

    # -- what a command reports ----------------------------------------------------------

    def phase(self, text: str) -> None:
        """A phase begins; the one before ends (on a terminal it stays, with its time)."""
        self.end_phase()
        self._phase_text = text
        self._phase_started = time.monotonic()
        if self.live:
            self._phase = self._progress.add_task(escape(text), total=None, detail="")
        elif not self.quiet:
            self._line(text)

    def end_phase(self, *, failed: bool = False) -> None:
        if self._phase is None:
            return
        took = time.monotonic() - self._phase_started
        self._progress.remove_task(self._phase)
        self._phase = None
        mark = "[red]✗[/]" if failed else "[green]✓[/]"
        self._progress.console.print(
            f"{mark} {escape(self._phase_text)} [dim]({_duration(took)})[/]", highlight=False
        )

    def count(self, done: int, total: int, unit: str) -> None:
        """Countable work of the current phase: a bar on a terminal."""
        if self._phase is not None:
            self._progress.update(self._phase, completed=done, total=total, unit=unit, refresh=True)

    def detail(self, text: str) -> None:
        """A tool's latest output line: beside the phase on a terminal wider than the
        phase's own columns (about 80), else not shown."""
        room = self.console.width - 80
        if self._phase is not None:
            shown = text if len(text) <= room else text[: max(room - 1, 0)] + "…"
            self._progress.update(self._phase, detail=escape(shown) if room > 10 else "")

    def say(self, text: str) -> None:
        """One line (above the live display on a terminal)."""
        if not self.quiet:
            self._line(text)

    def retry(self, text: str, wait_s: float) -> None:
        """A retry: its line (the cause and the wait), then a countdown on a terminal."""
        self.say(text)
        self.wait(f"retrying in {wait_s:g} s", wait_s)

    def wait(self, text: str, seconds: float) -> None:
        """A countdown of ``seconds`` on a terminal (a retry's wait, a durable sleep);
        it replaces the previous countdown."""
        if not self.live or seconds <= 0:
            return
        self.stop_waiting()
        deadline = time.monotonic() + seconds
        task = self._progress.add_task(
            escape(text), total=None, detail="", deadline=deadline, seconds=seconds
        )
        self._waits[task] = deadline

    def stop_waiting(self) -> None:
        while self._waits:
            self._progress.remove_task(self._waits.popitem()[0])

    def _expire_waits(self) -> None:
        """A countdown that reached zero goes (the work it waited for goes on)."""
        now = time.monotonic()
        for task in [task for task, deadline in self._waits.items() if deadline <= now]:
            del self._waits[task]
            self._progress.remove_task(task)

    def upload(self, key: str, sent: int, total: int) -> None:
        """Bytes of one upload sent so far: a bar per upload on a terminal."""
        if not self.live:
            return
        self._expire_waits()
        if key not in self._uploads:
            self._uploads[key] = self._progress.add_task(
                f"uploading {escape(key)}", total=total, detail="", unit="bytes"
            )
        self._progress.update(self._uploads[key], completed=sent)

    def uploaded(self, key: str, text: str) -> None:
        """An upload ended: its bar goes, its line stays."""
        if (task := self._uploads.pop(key, None)) is not None:
            self._progress.remove_task(task)
        self.say(text)

    # -- what the library reports, translated ----------------------------------------

    def build_event(self, event: object) -> None:
        """A ``runtara.compiler.progress`` event of a build (a plain string is a phase)."""
        from runtara.compiler.progress import Count, Phase, ToolOutput

        if isinstance(event, Count):
            self.count(event.done, event.total, event.unit)
        elif isinstance(event, ToolOutput):
            self.detail(event.text)
        elif isinstance(event, Phase | str):
            self.phase(str(event))

    def run_event(self, event: Any) -> None:
        """A ``runtara.runtime.local.execute.Event`` of a running instance."""
        self.stop_waiting()
        if event.kind == "retry":
            self.retry(event.text or "retrying", float(event.fields.get("wait_s", 0)))
        elif event.kind == "sleep":
            self.wait("sleeping (durable)", float(event.fields.get("seconds", 0)))
        elif event.kind in ("log", "error") and event.text is not None:
            self._line(event.text)  # the workflow's Log lines and failure, under --quiet too
        elif event.text is not None:
            self.say(event.text)

    def _line(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)


class _Bar(ProgressColumn):
    """A bar for countable work or a countdown; nothing for work of unknown size."""

    def __init__(self, width: int = 20, table_column: Column | None = None) -> None:
        super().__init__(table_column)
        self._bar = BarColumn(bar_width=width)
        self._width = width

    def render(self, task: Task) -> RenderableType:
        deadline = task.fields.get("deadline")
        if deadline is not None:
            seconds = task.fields["seconds"]
            left = max(0.0, deadline - time.monotonic())
            return ProgressBar(total=seconds, completed=seconds - left, width=self._width)
        if task.total is None:
            return Text("")
        return self._bar.render(task)


class _Figures(ProgressColumn):
    """``12/40 C files``, ``3.1/9.8 MB``, ``4 s left``."""

    def render(self, task: Task) -> RenderableType:
        deadline = task.fields.get("deadline")
        if deadline is not None:
            return Text(f"{_left(deadline - time.monotonic())} left")
        if task.total is None:
            return Text("")
        unit: Any = task.fields.get("unit", "")
        if unit == "bytes":
            return Text(f"{decimal(int(task.completed))}/{decimal(int(task.total))}")
        return Text(f"{task.completed:.0f}/{task.total:.0f} {unit}")


def _left(seconds: float) -> str:
    """``4 s``, ``2:05``, ``1:00:00``, ``2 d 23:59:59``: whole seconds, rounded up."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}" if hours or days else f"{minutes}:{secs:02d}"
    return f"{days} d {clock}" if days else clock


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"

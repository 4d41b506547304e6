"""What an instance page shows, computed from the store's records (no template logic).

* step states for the graph: a step is ``done`` when its checkpoint exists (or a step
  after it ran: Connection steps are never checkpointed), ``failed`` when its failure
  was checkpointed or the instance failed naming it, ``running`` / ``waiting`` on the
  frontier of a live instance, else ``pending`` (not reached);
* Split item and While iteration counts, from their position checkpoints;
* a waterfall timeline: a bar per checkpoint (from the previous one, or the process
  start), sleeps until their wake-up, and markers for retries, signals, logs and
  lifecycle events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtara.agents.redaction import redact
from runtara.console.graph import Graph, Node, Path, item_index, node_path, of_records
from runtara.console.queries import CheckpointHead
from runtara.runtime.status import TERMINAL
from runtara.runtime.store.checkpoints import SLEEP_CONTENT_TYPE
from runtara.runtime.store.events import Event
from runtara.runtime.store.instances import Instance

START_KEY = "@start"
#: Timeline rows shown at most (the latest ones).
MAX_ROWS = 400
LIVE = frozenset({"pending", "running"})
WAITING = frozenset({"sleeping", "suspended"})
#: Events drawn as markers, and the chip each gets.
MARKERS = {
    "created": "lifecycle",
    "launched": "lifecycle",
    "started": "lifecycle",
    "restarted": "lifecycle",
    "completed": "lifecycle",
    "failed": "error",
    "cancelled": "lifecycle",
    "cancel_requested": "signal",
    "pause_requested": "signal",
    "resume_requested": "signal",
    "suspended": "signal",
    "signal_sent": "signal",
    "retry_attempt": "retry",
    "workflow_log": "log",
}


# -- graph states -----------------------------------------------------------------------


def graph_for(instance_graph: Graph | None, heads: Sequence[CheckpointHead]) -> Graph:
    """The image's workflow graph, or (no document) the steps the instance reported."""
    if instance_graph is not None:
        return instance_graph
    records = [
        (h.key, h.step_type)
        for h in heads
        if h.key != START_KEY and h.content_type != SLEEP_CONTENT_TYPE and item_index(h.key) is None
    ]
    return of_records(records)


def step_states(
    graph: Graph, heads: Sequence[CheckpointHead], instance: Instance
) -> tuple[dict[Path, str], dict[Path, int]]:
    """(path -> state, path -> Split/While item count) for every node of ``graph``."""
    done: set[Path] = set()
    failed: set[Path] = set()
    touched: set[Path] = set()  # something below it has a checkpoint
    items: dict[Path, set[int]] = {}
    results: dict[Path, bool] = {}
    for head in heads:
        if head.key == START_KEY:
            continue
        position = item_index(head.key)
        if position is not None:
            items.setdefault(position[0], set()).add(position[1])
            touched.update(_ancestors(position[0]))
            continue
        path = node_path(head.key)
        if not path:
            continue
        (failed if head.failed else done).add(path)
        if head.result is not None:
            results[path] = head.result
        touched.update(_ancestors(path)[:-1])
    error_step = _error_step(instance.error)
    states: dict[Path, str] = {}
    _settle(graph, done, failed, touched, states)
    if instance.status == "failed" and error_step:
        for node in graph.walk():
            if node.id == error_step and states.get(node.path) != "done":
                states[node.path] = "failed"
                for ancestor in _ancestors(node.path)[:-1]:
                    if states.get(ancestor) != "done":
                        states[ancestor] = "failed"
                break
    if instance.status in TERMINAL:  # nothing runs any more: what started, ran
        for path, state in states.items():
            if state == "running":
                states[path] = "done"
    if instance.status == "completed":
        _finished(graph, states, results)
    elif instance.status not in TERMINAL:
        _frontier(graph, states, results, "waiting" if instance.status in WAITING else "running")
    counts = {path: len(found) for path, found in items.items()}
    return states, counts


def _ancestors(path: Path) -> list[Path]:
    return [path[: i + 1] for i in range(len(path))]


def _settle(
    graph: Graph,
    done: set[Path],
    failed: set[Path],
    touched: set[Path],
    states: dict[Path, str],
) -> None:
    for node in graph.nodes:
        if node.path in failed:
            states[node.path] = "failed"
        elif node.path in done:
            states[node.path] = "done"
        elif node.path in touched:
            states[node.path] = "running"
        if node.subgraph is not None:
            _settle(node.subgraph, done, failed, touched, states)
    # a step a later one ran after ran itself (Connection steps have no checkpoint)
    changed = True
    while changed:
        changed = False
        for edge in graph.edges:
            source = graph.node(edge.source)
            target = graph.node(edge.target)
            if source is None or target is None or source.path in states:
                continue
            if states.get(target.path) in ("done", "failed", "running"):
                # reaching an onError handler means the step failed
                states[source.path] = "failed" if edge.kind == "onError" else "done"
                changed = True


def _next_steps(graph: Graph, states: dict[Path, str], results: dict[Path, bool]) -> list[Node]:
    """Steps not yet settled that the plan reaches from a finished one (over the branch
    a Conditional took; onError edges only from a failed step)."""
    found: list[Node] = []
    for edge in graph.edges:
        source, target = graph.node(edge.source), graph.node(edge.target)
        if source is None or target is None or target.path in states:
            continue
        state = states.get(source.path)
        if edge.kind == "onError":
            taken = state == "failed"
        elif edge.kind in ("true", "false") and source.path in results:
            taken = state == "done" and results[source.path] == (edge.kind == "true")
        else:
            taken = state == "done"
        if taken and target not in found:
            found.append(target)
    return found


def _frontier(graph: Graph, states: dict[Path, str], results: dict[Path, bool], live: str) -> None:
    """Mark where a live instance is: containers already started, and the steps right
    after a finished one (or the entry, when nothing ran yet)."""
    marked = False
    for node in graph.nodes:
        if states.get(node.path) == "running":
            states[node.path] = live
            marked = True
            if node.subgraph is not None:
                _frontier(node.subgraph, states, results, live)
    if marked:
        return
    candidates = _next_steps(graph, states, results)
    if not any(states.get(n.path) for n in graph.nodes) and graph.entry:
        entry = graph.node(graph.entry)
        candidates = [entry] if entry is not None else []
    for node in candidates:
        states[node.path] = live


def _finished(graph: Graph, states: dict[Path, str], results: dict[Path, bool]) -> None:
    """In a completed instance, the Finish step it reached ran (Finish is never
    checkpointed on its own)."""
    for node in _next_steps(graph, states, results):
        if node.type == "Finish":
            states[node.path] = "done"
    for node in graph.nodes:
        if node.subgraph is not None and states.get(node.path) == "done":
            _finished(node.subgraph, states, results)


def _error_step(error: Any) -> str | None:
    if isinstance(error, dict):
        step = error.get("stepId") or error.get("step_id")
        return step if isinstance(step, str) else None
    return None


# -- timeline ---------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    """step, checkpoint, sleep, retry, signal, log, lifecycle, error"""
    label: str
    start: int
    end: int | None = None
    detail: str = ""
    left: float = 0.0
    width: float = 0.0

    @property
    def duration_ms(self) -> int | None:
        return None if self.end is None else self.end - self.start


@dataclass
class Timeline:
    start: int
    end: int
    rows: list[Row] = field(default_factory=list)
    left_out: int = 0

    @property
    def span_ms(self) -> int:
        return max(self.end - self.start, 1)


def timeline(
    instance: Instance, heads: Sequence[CheckpointHead], events: Iterable[Event]
) -> Timeline:
    rows: list[Row] = []
    now = int(time.time() * 1000)
    events = list(events)
    restarts = sorted(
        e.created_at for e in events if e.event_type in ("started", "restarted", "launched")
    )
    previous = instance.started_at or instance.created_at
    for head in heads:
        moment = head.created_at
        begin = max([previous, *[r for r in restarts if r <= moment]])
        previous = moment
        if head.key == START_KEY:
            rows.append(Row("lifecycle", "process started (input saved)", moment))
            continue
        if head.content_type == SLEEP_CONTENT_TYPE:
            continue  # drawn from its "sleeping" event, with the wake-up time
        kind = "error" if head.failed else ("step" if head.step_type else "checkpoint")
        detail = head.step_type or f"{head.size} bytes"
        if head.failed:
            detail = "failed (handled by onError)"
        rows.append(Row(kind, head.key, begin, moment, detail))
    for event in events:
        if event.event_type == "sleeping":
            wake = event.payload.get("wake_at") if isinstance(event.payload, dict) else None
            end = int(wake) if isinstance(wake, int) else None
            if end is not None and instance.status != "sleeping":
                end = min(end, instance.finished_at or end)
            rows.append(
                Row("sleep", event.subtype or "sleep", event.created_at, end, "durable sleep")
            )
            continue
        marker = "log" if event.event_type == "custom" else MARKERS.get(event.event_type)
        if marker is None:
            continue
        rows.append(_marker(marker, event))
    rows.sort(key=lambda r: (r.start, r.end or r.start))
    start = instance.created_at
    end = instance.finished_at or now
    end = max([end, *[r.end or r.start for r in rows]])
    left_out = max(len(rows) - MAX_ROWS, 0)
    shown = Timeline(start, end, rows[left_out:], left_out)
    for row in shown.rows:
        row.left = 100 * (row.start - start) / shown.span_ms
        stop = row.end if row.end is not None else row.start
        row.width = max(100 * (stop - row.start) / shown.span_ms, 0.0)
    return shown


def _marker(kind: str, event: Event) -> Row:
    payload = event.payload if isinstance(event.payload, dict) else {}
    label = event.event_type.replace("_", " ")
    detail = ""
    if event.event_type == "retry_attempt":
        label = f"retry #{payload.get('attempt', '?')} of {event.subtype or '?'}"
        detail = str(payload.get("error") or "")
    elif event.event_type == "workflow_log" or event.subtype == "workflow_log":
        label = f"[{payload.get('level', 'info')}] {payload.get('step_id', '')}"
        detail = str(payload.get("message") or "")
    elif event.event_type == "signal_sent":
        label = f"signal sent to {event.subtype or '?'}"
    elif event.event_type in ("failed", "cancelled", "suspended") and payload:
        detail = compact(redact(payload))
    elif event.event_type == "custom":
        label = event.subtype or "event"
        detail = compact(redact(event.payload))
    return Row(kind, label, event.created_at, None, detail)


# -- values -----------------------------------------------------------------------------


def pretty(value: Any) -> str:
    """A JSON value for people, secrets masked."""
    return json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)


def compact(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def signal_targets(graph: Graph, heads: Sequence[CheckpointHead]) -> list[str]:
    """Checkpoint ids a signal can be sent to: the WaitForSignal steps of the graph at
    their keys (in a loop, the keys seen so far would be guesses: the id is typed)."""
    keys: list[str] = []
    for node in graph.walk():
        if node.type == "WaitForSignal" and len(node.path) == 1:
            keys.append(node.id)
    done = {h.key for h in heads}
    return [k for k in keys if k not in done] + [k for k in keys if k in done]


def duration(ms: int | None) -> str:
    """1.234 s, 2 min 5 s, 3 h 2 min, 4 d 1 h: a duration for people."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def now_ms() -> int:
    return int(time.time() * 1000)


def legend(graph: Graph, states: dict[Path, str]) -> list[tuple[str, str, int]]:
    """(state, its name, how many steps) for the states present, in a fixed order."""
    from runtara.console.formats import STATES

    counted = dict.fromkeys(STATES, 0)
    for node in graph.walk():
        state = states.get(node.path, "pending")
        counted[state] = counted.get(state, 0) + 1
    return [(state, STATES.get(state, state), n) for state, n in counted.items() if n]

"""Feedback on long work: live on a terminal, one line per phase in a log, nothing with
--quiet; retries announced with their cause and wait, a countdown for a durable delay.

The renderer is driven with real rich consoles (a terminal forced on, or a plain file);
``runtara run`` runs as a real process against a closed port and in a real pty."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer
from rich.console import Console
from werkzeug import Response

from runtara.cli.progress import Feedback
from runtara.compiler.progress import Count, Phase, ToolOutput
from runtara.runtime.local.execute import Event
from tests.support.polling import free_port
from tests.support.run_processes import runtara
from tests.support.servers import environment

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _terminal() -> tuple[Console, io.StringIO]:
    written = io.StringIO()
    return Console(file=written, force_terminal=True, width=120, color_system=None), written


def _log() -> tuple[Console, io.StringIO]:
    written = io.StringIO()
    return Console(file=written, force_terminal=False, width=80), written


def _plain(text: str) -> str:
    return ESCAPE.sub("", text)


def test_a_terminal_shows_each_phase_with_its_time_and_a_bar_for_counted_work() -> None:
    console, written = _terminal()
    with Feedback(console) as feedback:
        feedback.build_event(Phase("building the runtime launcher"))
        feedback.build_event(ToolOutput("Nuitka: Starting Python compilation"))
        feedback.build_event(Count(12, 40, "C files"))
        feedback.build_event(Phase("writing the OCI image"))
        feedback.build_event(Count(2, 3, "layers"))
    shown = _plain(written.getvalue())
    assert "12/40 C files" in shown
    assert "2/3 layers" in shown
    assert "━" in shown  # the bar
    # each phase stays as one line with the time it took
    assert re.search(r"✓ building the runtime launcher \(\d+\.\d s\)", shown), shown
    assert re.search(r"✓ writing the OCI image \(\d+\.\d s\)", shown), shown


def test_a_terminal_shows_an_upload_as_a_bar_of_bytes_and_its_line_when_done() -> None:
    console, written = _terminal()
    with Feedback(console) as feedback:
        feedback.upload("sha256:0123456789ab", 10_000, 100_000)
        feedback.uploaded("sha256:0123456789ab", "uploaded  sha256:0123456789ab  100.0 kB")
        feedback.upload("sha256:ba9876543210", 500_000, 2_000_000)
    shown = _plain(written.getvalue())
    assert re.search(r"uploading sha256:ba9876543210 .*━.* 500\.0 kB/2\.0 MB", shown), shown
    assert "uploaded  sha256:0123456789ab  100.0 kB\n" in shown


def test_at_80_columns_a_long_phase_still_shows_its_count_and_time() -> None:
    written = io.StringIO()
    console = Console(file=written, force_terminal=True, width=80, color_system=None)
    with Feedback(console) as feedback:
        feedback.phase("building the runtime launcher (once per runtara version; a few minutes)")
        feedback.detail("Nuitka-Scons: Backend C compiler: gcc (gcc 12).")
        feedback.count(10, 58, "C files")
    frames = [line for line in _plain(written.getvalue()).split("\r") if "C files" in line]
    assert frames, written.getvalue()
    assert re.search(r"building the runtime launcher… .* 10/58 C files +0:00:0\d", frames[-1])
    assert "Nuitka" not in frames[-1]  # no room for the tool's line at 80 columns
    # the phase's own line keeps its whole text
    assert "✓ building the runtime launcher (once per runtara version; a few minutes) (" in (
        _plain(written.getvalue())
    )


def test_a_phase_cut_short_by_an_error_is_marked_failed() -> None:
    console, written = _terminal()
    try:
        with Feedback(console) as feedback:
            feedback.phase("compiling the workflow module")
            raise RuntimeError("Nuitka failed")
    except RuntimeError:
        pass
    assert re.search(r"✗ compiling the workflow module \(", _plain(written.getvalue()))


def test_a_log_gets_one_plain_line_per_phase_and_no_bars() -> None:
    console, written = _log()
    with Feedback(console) as feedback:
        feedback.build_event(Phase("validating job.json"))
        feedback.build_event(ToolOutput("Nuitka: Starting Python compilation"))
        feedback.build_event(Count(12, 40, "C files"))
        feedback.build_event(Phase("writing the OCI image"))
        feedback.upload("sha256:0123456789ab", 10, 100)
        feedback.uploaded("sha256:0123456789ab", "uploaded  sha256:0123456789ab  1.0 kB")
    assert written.getvalue().splitlines() == [
        "validating job.json",
        "writing the OCI image",
        "uploaded  sha256:0123456789ab  1.0 kB",
    ]
    assert "\x1b" not in written.getvalue()


def test_quiet_silences_phases_retries_and_countdowns() -> None:
    console, written = _terminal()
    with Feedback(console, quiet=True) as feedback:
        feedback.build_event(Phase("validating job.json"))
        feedback.build_event(Count(1, 3, "layers"))
        feedback.retry("registry: busy; retrying in 2 s", 2)
        feedback.run_event(Event("sleep", None, {"seconds": 30}))
        feedback.run_event(Event("message", "instance x on http://127.0.0.1:1"))
    assert written.getvalue() == ""


def test_under_quiet_the_workflow_log_and_its_failure_still_print() -> None:
    console, written = _log()
    with Feedback(console, quiet=True) as feedback:
        feedback.run_event(Event("log", "[info] Greet: hello"))
        feedback.run_event(Event("error", "runtara: failed: step 'call': refused"))
        feedback.run_event(Event("message", "Nap: sleeping 5 s (durable)"))
    assert written.getvalue().splitlines() == [
        "[info] Greet: hello",
        "runtara: failed: step 'call': refused",
    ]


def test_a_retry_on_a_terminal_says_why_then_counts_the_wait_down() -> None:
    console, written = _terminal()
    with Feedback(console) as feedback:
        feedback.run_event(
            Event(
                "retry",
                "Call: attempt 1 of 3 failed: cannot resolve host; retrying in 90 s",
                {"wait_s": 90},
            )
        )
    shown = _plain(written.getvalue())
    assert "Call: attempt 1 of 3 failed: cannot resolve host; retrying in 90 s" in shown
    assert re.search(r"1:(30|29) left", shown), shown


def test_a_durable_sleep_on_a_terminal_is_a_countdown() -> None:
    console, written = _terminal()
    with Feedback(console) as feedback:
        feedback.run_event(Event("sleep", None, {"seconds": 3 * 86_400}))
    assert re.search(
        r"sleeping \(durable\).*(3 d 0:00:00|2 d 23:59:5\d) left", _plain(written.getvalue())
    )


# -- runtara run, as a user runs it --------------------------------------------------------


def _unreachable_workflow(path: Path, port: int) -> Path:
    path.write_text(
        json.dumps(
            {
                "name": "unreachable",
                "steps": {
                    "call": {
                        "stepType": "Agent",
                        "id": "call",
                        "name": "Call the API",
                        "agentId": "http",
                        "capabilityId": "http-request",
                        "maxRetries": 2,
                        "retryDelay": 100,
                        "inputMapping": {
                            "url": {
                                "valueType": "immediate",
                                "value": f"http://127.0.0.1:{port}/orders",
                            }
                        },
                    },
                    "done": {"stepType": "Finish", "id": "done", "inputMapping": {}},
                },
                "entryPoint": "call",
                "executionPlan": [{"fromStep": "call", "toStep": "done"}],
            }
        )
    )
    return path


def test_run_announces_each_retry_with_its_cause_and_its_wait(tmp_path: Path) -> None:
    """A closed port (nothing listens): each failed attempt is a line naming the cause."""
    workflow = _unreachable_workflow(tmp_path / "unreachable.json", free_port())
    result = runtara(tmp_path, "run", str(workflow))
    assert result.returncode == 1
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == 2, result.stderr
    assert retries[0].startswith("Call the API: attempt 1 of 3 failed: ")
    assert retries[0].endswith("; retrying in 0.1 s")
    assert retries[1].endswith("; retrying in 0.2 s")  # the delay doubles
    assert all("refused" in line.lower() for line in retries), retries
    assert "runtara: failed:" in result.stderr
    assert "\x1b" not in result.stderr  # not a terminal: plain lines


def test_run_quiet_keeps_only_the_failure(tmp_path: Path) -> None:
    workflow = _unreachable_workflow(tmp_path / "unreachable.json", free_port())
    result = runtara(tmp_path, "run", str(workflow), "--quiet")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith("runtara: failed: step 'call'"), result.stderr
    assert "retrying" not in result.stderr
    assert "instance " not in result.stderr


def _in_a_pty(cwd: Path, *args: str) -> tuple[str, str, int]:
    """``runtara ARGS`` with stderr on a pseudo-terminal (stdout stays a pipe)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "runtara", *args],
        cwd=cwd,
        env={**environment(), "COLUMNS": "100", "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    return output, shown.decode(errors="replace"), process.wait(timeout=30)


def test_run_on_a_terminal_counts_a_durable_delay_down_and_keeps_stdout_clean(
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "nap.json"
    workflow.write_text(
        json.dumps(
            {
                "name": "nap",
                "steps": {
                    "nap": {
                        "stepType": "Delay",
                        "id": "nap",
                        "name": "Nap",
                        "durationMs": {"valueType": "immediate", "value": 1500},
                        "durable": True,
                    },
                    "done": {
                        "stepType": "Finish",
                        "id": "done",
                        "inputMapping": {"slept": {"valueType": "immediate", "value": True}},
                    },
                },
                "entryPoint": "nap",
                "executionPlan": [{"fromStep": "nap", "toStep": "done"}],
            }
        )
    )
    output, shown, code = _in_a_pty(tmp_path, "run", str(workflow))
    assert code == 0, shown
    assert json.loads(output) == {"slept": True}  # the display never joins stdout
    plain = _plain(shown)
    assert "Nap: sleeping 1.5 s (durable)" in plain
    assert re.search(r"sleeping \(durable\) ━*.* [12] s left", plain), plain


def test_run_announces_an_http_call_retried_on_a_busy_answer(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A 503 is retried inside the call (before the step's own retries): said too."""
    answers = iter([Response("busy", status=503), Response("busy", status=503)])
    httpserver.expect_request("/busy").respond_with_handler(
        lambda _request: next(answers, Response('{"ok": true}', content_type="application/json"))
    )
    workflow = _unreachable_workflow(tmp_path / "busy.json", httpserver.port)
    document = json.loads(workflow.read_text())
    document["steps"]["call"]["inputMapping"]["url"]["value"] = httpserver.url_for("/busy")
    workflow.write_text(json.dumps(document))
    result = runtara(tmp_path, "run", str(workflow))
    assert result.returncode == 0, result.stderr
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    url = httpserver.url_for("/busy")
    assert retries == [
        f"GET {url}: attempt 1 of 3 answered HTTP 503; retrying in 0.25 s",
        f"GET {url}: attempt 2 of 3 answered HTTP 503; retrying in 0.5 s",
    ]

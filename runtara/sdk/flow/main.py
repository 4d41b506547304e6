"""The entry point of a generated module: run the workflow, report how it ended.

``python workflow.py`` (or the native binary built from it) reads its instance from
``RUNTARA_*`` variables, runs the graph, and reports ``completed`` / ``failed`` /
``suspended`` to the runtime. Exit status: 0 completed, 1 failed, 3 paused or cancelled.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from runtara.sdk.errors import CheckpointDiverged, RuntaraError
from runtara.sdk.flow.errors import FlowError, StepFailed, WorkflowTimedOut
from runtara.sdk.flow.failures import stop_reason
from runtara.sdk.flow.port import RuntimePort
from runtara.sdk.flow.runner import Run, progress
from runtara.sdk.flow.schema import validate_input
from runtara.sdk.flow.scope import Scope
from runtara.sdk.instance import Runtara

EXIT_COMPLETED, EXIT_FAILED, EXIT_STOPPED = 0, 1, 3

Graph = Callable[[Run, Scope], Any]


def execute(
    runtime: RuntimePort,
    graph: Graph,
    *,
    variables: dict[str, Any],
    input_schema: dict[str, Any],
    debug: bool = False,
    timeout_s: int | None = None,
) -> int:
    """Run ``graph`` as this instance; report the outcome; return the exit status."""
    run = Run(runtime, debug=debug, timeout_s=timeout_s)
    try:
        data = validate_input(run.start(), input_schema)
        output = graph(run, Scope.root(data, variables))
        run.finish()
    except StepFailed as failure:
        runtime.failed({**failure.record(), "message": str(failure)})
        progress(f"runtara: failed: {failure}", "error")
        return EXIT_FAILED
    except FlowError as exc:
        runtime.failed({"message": str(exc), "code": exc.code})
        progress(f"runtara: failed: {exc}", "error")
        return EXIT_FAILED
    except WorkflowTimedOut as exc:
        runtime.failed({"message": str(exc), "code": "WORKFLOW_TIMEOUT"})
        progress(f"runtara: failed: {exc}", "error")
        return EXIT_FAILED
    except BaseException as exc:
        reason = stop_reason(exc)
        if reason is None:
            if isinstance(exc, SystemExit | KeyboardInterrupt):
                raise
            if isinstance(exc, CheckpointDiverged):
                # Like a crash: no outcome; a rerun replays what the runtime holds.
                progress(f"runtara: {exc}; ending without an outcome")
                return EXIT_FAILED
            if isinstance(exc, RuntaraError):
                # The runtime refused a call or went away: not a bug to show a traceback
                # for; report the failure if it still listens.
                with contextlib.suppress(RuntaraError):
                    runtime.failed({"message": f"runtime error: {exc}"})
                progress(f"runtara: the runtime refused or is unreachable: {exc}", "error")
                return EXIT_FAILED
            with contextlib.suppress(RuntaraError):
                runtime.failed({"message": f"internal error: {type(exc).__name__}: {exc}"})
            traceback.print_exc()
            return EXIT_FAILED
        if reason == "paused":
            runtime.suspended()
        progress(f"runtara: {reason}")
        return EXIT_STOPPED
    runtime.completed(output)
    return EXIT_COMPLETED


def main(
    graph: Graph,
    *,
    variables: dict[str, Any],
    input_schema: dict[str, Any],
    debug: bool = False,
    timeout_s: int | None = None,
) -> NoReturn:
    """``if __name__ == "__main__"`` of a generated module: the instance of RUNTARA_*."""
    try:
        runtime = Runtara.from_env()
        status = execute(
            runtime,
            graph,
            variables=variables,
            input_schema=input_schema,
            debug=debug,
            timeout_s=timeout_s,
        )
        runtime.close()
    except RuntaraError as exc:  # a bad environment, or the outcome could not be reported
        progress(f"runtara: {exc}", "error")
        sys.exit(EXIT_FAILED)
    sys.exit(status)

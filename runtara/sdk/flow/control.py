"""Steps that run nested graphs: Split, While and EmbedWorkflow.

A nested graph is a generated function ``graph(run, scope) -> finish output``. Each
Split item and each While iteration is checkpointed on its own under a position key
(``orders/split[17]``, ``poll/while[3]``), and the steps inside it are keyed below that
(``orders/split[17]/charge``), so a crash resumes at the first unfinished item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from runtara.sdk.flow.conditions import truthy
from runtara.sdk.flow.errors import InputValidationError, StepFailed
from runtara.sdk.flow.failures import as_step_failure
from runtara.sdk.flow.runner import Run, record
from runtara.sdk.flow.schema import validate_input
from runtara.sdk.flow.scope import Scope, StepInfo

Graph = Callable[[Run, Scope], Any]

#: ``parallelism: 0`` means "unlimited"; this many threads is what unlimited gets.
MAX_THREADS = 64


def split(
    run: Run,
    sc: Scope,
    info: StepInfo,
    items: Any,
    graph: Graph,
    *,
    variables: dict[str, Any] | None = None,
    parallelism: int = 0,
    sequential: bool = False,
    dont_stop_on_failed: bool = False,
    retries: int = 0,
    retry_delay_ms: int = 1000,
    timeout_ms: int | None = None,
    convert_single_value: bool = False,
) -> dict[str, Any]:
    """Run ``graph`` once per item, ``parallelism`` at a time, each item durable.

    A null value is no items; ``convertSingleValue`` iterates a non-array value as one item.
    """
    if items is None:
        items = []
    elif not isinstance(items, list) and convert_single_value:
        items = [items]
    if not isinstance(items, list):
        raise StepFailed(info.id, f"Split value must be an array, got {type(items).__name__}")
    key = sc.key(info.id)
    base_variables = {**sc.variables, **(variables or {})}

    def run_item(index: int) -> Any:
        item_key = f"{key}/split[{index}]"
        child = sc.split_item(
            item=items[index], index=index, variables=base_variables, prefix=item_key + "/"
        )
        try:
            return run.value(
                item_key,
                info,
                lambda: {"ok": graph(run, child)},
                retries=retries,
                retry_delay_ms=retry_delay_ms,
                timeout_ms=timeout_ms,
            )
        except StepFailed as failure:
            if not dont_stop_on_failed:
                raise split_failure(info, index, failure) from failure
            cause = failure.__cause__ if isinstance(failure.__cause__, StepFailed) else failure
            outcome = {"error": {"index": index, "error": cause.message, **_origin(cause)}}
            return run.commit(item_key, {"value": outcome})["value"]

    def compute() -> dict[str, Any]:
        workers = 1 if sequential else (parallelism or MAX_THREADS)
        outcomes = _map_items(run_item, len(items), min(workers, MAX_THREADS))
        return _split_record(info, outcomes, dont_stop_on_failed)

    return run.durable(sc, info, compute, inputs={"count": len(items)})


def _origin(failure: StepFailed) -> dict[str, Any]:
    return {"stepId": failure.step_id, "code": failure.code, "category": failure.category}


def _map_items(run_item: Callable[[int], Any], count: int, workers: int) -> list[Any]:
    """Run items in index order on up to ``workers`` threads; stop at the first failure."""
    if workers <= 1 or count <= 1:
        return [run_item(index) for index in range(count)]
    results: list[Any] = [None] * count
    stop = threading.Event()

    def guarded(index: int) -> None:
        if not stop.is_set():
            results[index] = run_item(index)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runtara-split") as pool:
        futures: list[Future[None]] = [pool.submit(guarded, i) for i in range(count)]
        wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.done() and f.exception() is not None for f in futures):
            stop.set()
            for future in futures:
                future.cancel()
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return results


def _split_record(info: StepInfo, outcomes: list[Any], collected: bool) -> dict[str, Any]:
    success = [o["ok"] for o in outcomes if "ok" in o]
    if not collected:
        return record(info, success)
    errors = [o["error"] for o in outcomes if "error" in o]
    data = {"success": success, "error": errors, "aborted": [], "unknown": [], "skipped": []}
    stats = {
        "success": len(success),
        "error": len(errors),
        "aborted": 0,
        "unknown": 0,
        "skipped": 0,
        "total": len(outcomes),
    }
    return record(info, success, data=data, stats=stats)


def split_failure(info: StepInfo, index: int, exc: BaseException) -> StepFailed:
    inner = as_step_failure(info.id, exc)
    return StepFailed(
        info.id,
        f"Split step failed at index {index}: {inner.message}",
        code=inner.code,
        category=inner.category,
    )


def while_loop(
    run: Run,
    sc: Scope,
    info: StepInfo,
    condition: Callable[[dict[str, Any]], Any],
    graph: Graph,
    *,
    max_iterations: int = 10,
    timeout_ms: int | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``condition`` before each iteration; outputs ``{iterations, outputs}`` (the
    last iteration's outputs), as Runtara does.

    The condition reads ``loop`` (``index``, ``outputs``) and ``iteration`` (``index``,
    ``indices``, ``item``); ``variables`` (config.variables) join the subgraph's.
    """
    key = sc.key(info.id)
    base_variables = {**sc.variables, **(variables or {})}

    def state(index: int, previous: Any) -> dict[str, Any]:
        indices = sc.indices(index)
        return {"index": index, "outputs": previous, "indices": indices, "item": sc.item}

    def compute() -> dict[str, Any]:
        deadline = None if not timeout_ms else time.monotonic() + timeout_ms / 1000
        previous: Any = None
        index = 0
        while index < max_iterations and truthy(condition(state(index, previous))):
            if deadline is not None and time.monotonic() > deadline:
                raise StepFailed(
                    info.id,
                    f"While loop timed out after {timeout_ms} ms ({index} iterations)",
                    code="TIMEOUT",
                )
            iteration_key = f"{key}/while[{index}]"
            child = sc.while_iteration(
                index=index, previous=previous, variables=base_variables, prefix=iteration_key + "/"
            )
            previous = run.value(iteration_key, info, _bind(run, child, graph))
            index += 1
        return record(info, {"iterations": index, "outputs": previous}, iterations=index)

    return run.durable(sc, info, compute, inputs={"maxIterations": max_iterations})


def _bind(run: Run, child: Scope, graph: Graph) -> Callable[[], Any]:
    return lambda: graph(run, child)


def embed(
    run: Run,
    sc: Scope,
    info: StepInfo,
    child_workflow_id: str,
    data: Any,
    graph: Graph,
    *,
    variables: dict[str, Any],
    input_schema: dict[str, Any] | None = None,
    retries: int = 3,
    retry_delay_ms: int = 1000,
    timeout_ms: int | None = None,
) -> dict[str, Any]:
    """Run an embedded child workflow (compiled into this module) inside this instance;
    its input is checked against the child's ``inputSchema`` first."""
    key = sc.key(info.id)
    try:
        data = validate_input(data, input_schema or {})
    except InputValidationError as exc:
        raise StepFailed(
            info.id, f"child workflow {child_workflow_id}: {exc}", code=exc.code
        ) from None
    child = sc.embedded(data=data, variables=dict(variables), prefix=key + "/embed/")

    def compute() -> dict[str, Any]:
        try:
            outputs = graph(run, child)
        except StepFailed as failure:
            raise StepFailed(
                info.id,
                f"Child workflow {child_workflow_id} failed: {failure.message}",
                code=failure.code,
                category=failure.category,
            ) from failure
        return record(info, outputs, childWorkflowId=child_workflow_id)

    return run.durable(
        sc,
        info,
        compute,
        retries=retries,
        retry_delay_ms=retry_delay_ms,
        timeout_ms=timeout_ms,
        inputs=data,
    )


__all__ = ["Graph", "embed", "split", "split_failure", "while_loop"]

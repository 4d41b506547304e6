"""How long ``runtara validate`` takes on a generated 1,000-step workflow (goal: < 0.5 s).

Prints one table: the validator's phases next to baselines measured in the same run
(bare ``json.loads``, the pydantic model parse alone). Run: ``python benchmarks/validate.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtara import dsl
from runtara.dsl.validation import validate_text
from runtara.dsl.validation.structural import structural_diagnostics


def generate(steps: int) -> dict[str, Any]:
    """A chain of ``steps`` steps: agents reading earlier outputs, conditionals, logs, a
    Split with a subgraph, templates and composites, ending in a Finish."""
    graph_steps: dict[str, Any] = {}
    plan: list[dict[str, Any]] = []
    previous = None
    for index in range(steps - 1):
        step_id = f"step-{index}"
        kind = index % 5
        ref = f"steps['{previous}'].outputs" if previous else "data.items"
        if kind == 0:
            step = {
                "stepType": "Agent",
                "agentId": "transform",
                "capabilityId": "map-fields",
                "inputMapping": {
                    "source_data": {"valueType": "reference", "value": ref},
                    "mappings": {"valueType": "immediate", "value": {"a": "b"}},
                },
            }
        elif kind == 1:
            step = {
                "stepType": "Agent",
                "agentId": "text",
                "capabilityId": "render-template",
                "inputMapping": {
                    "text": {
                        "valueType": "template",
                        "value": "n={{ data.n }} {{ variables.base }}",
                    },
                    "context": {
                        "valueType": "composite",
                        "value": {
                            "prev": {"valueType": "reference", "value": ref},
                            "n": {"valueType": "immediate", "value": index},
                        },
                    },
                },
            }
        elif kind == 2:
            step = {
                "stepType": "Conditional",
                "condition": {
                    "type": "operation",
                    "op": "AND",
                    "arguments": [
                        {
                            "op": "GT",
                            "arguments": [
                                {"valueType": "reference", "value": "data.n", "type": "number"},
                                {"valueType": "immediate", "value": 3},
                            ],
                        },
                        {
                            "op": "IS_NOT_EMPTY",
                            "arguments": [{"valueType": "reference", "value": ref}],
                        },
                    ],
                },
            }
        elif kind == 3:
            step = {
                "stepType": "Log",
                "level": "info",
                "message": f"at {index}",
                "context": {"value": {"valueType": "reference", "value": ref}},
            }
        else:
            step = {
                "stepType": "Split",
                "config": {
                    "value": {"valueType": "reference", "value": "data.items"},
                    "parallelism": 4,
                },
                "subgraph": {
                    "entryPoint": "item",
                    "steps": {
                        "item": {
                            "stepType": "Finish",
                            "id": "item",
                            "inputMapping": {"x": {"valueType": "reference", "value": "data.x"}},
                        }
                    },
                },
            }
        graph_steps[step_id] = {"id": step_id, "name": f"Step {index}", **step}
        if previous is not None:
            edge: dict[str, Any] = {"fromStep": previous, "toStep": step_id}
            if graph_steps[previous]["stepType"] == "Conditional":
                plan.append({**edge, "label": "false"})
                edge["label"] = "true"
            plan.append(edge)
        previous = step_id
    graph_steps["finish"] = {
        "stepType": "Finish",
        "id": "finish",
        "inputMapping": {
            "result": {"valueType": "reference", "value": f"steps['{previous}'].outputs"}
        },
    }
    plan.append({"fromStep": previous, "toStep": "finish"})
    # Conditional "false" edges above point at the next step too (both branches join).
    plan = [dict(t) for t in {tuple(sorted(e.items())) for e in plan}]
    plan.sort(key=lambda e: (int(e["fromStep"].split("-")[1]), e.get("label", "")))
    return {
        "name": "generated",
        "steps": graph_steps,
        "entryPoint": "step-0",
        "executionPlan": plan,
        "variables": {"base": {"type": "string", "value": "x"}},
    }


def best_and_median(repeat: int, action: Callable[[], object]) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings), statistics.median(timings)


def with_typo(document: dict[str, Any]) -> str:
    """The same document with one structural error (the JSON Schema then runs)."""
    broken = json.loads(json.dumps(document))
    first = next(iter(broken["steps"].values()))
    first["agentID"] = first.pop("agentId")
    return json.dumps(broken, indent=2)


def cli_process(path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "runtara", "validate", str(path)], check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    generated = generate(args.steps)
    text = json.dumps(generated, indent=2)
    first = validate_text(text, "generated.json")  # warms caches (schema, catalog)
    assert first.ok, [d.format("generated.json") for d in first.errors][:5]
    broken = with_typo(generated)
    assert not validate_text(broken, "broken.json").ok
    document = dsl.parse_json(text)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "generated.json"
        path.write_text(text, encoding="utf-8")
        rows = [
            ("json.loads (baseline)", lambda: json.loads(text)),
            ("pydantic parse (baseline)", lambda: dsl.Workflow.model_validate(document.value)),
            ("source map (one pass)", lambda: dsl.SourceMap(text).value("/steps")),
            ("JSON Schema check alone", lambda: structural_diagnostics(document)),
            ("validate, valid document", lambda: validate_text(text, "generated.json")),
            ("validate, one S001 error", lambda: validate_text(broken, "broken.json")),
            ("CLI process (with imports)", lambda: cli_process(path)),
        ]
        size = len(text) / 1024
        print(f"validate: {args.steps} steps, {size:.0f} KiB, best/median of {args.repeat}")
        print(f"{'phase':<28}{'best ms':>10}{'median ms':>12}{'x json.loads':>14}")
        base = 0.0
        for label, action in rows:
            best, median = best_and_median(args.repeat, action)
            base = base or best
            print(f"{label:<28}{best * 1000:>10.1f}{median * 1000:>12.1f}{best / base:>14.1f}")
    print("goal: 'validate, valid document' < 500 ms")


if __name__ == "__main__":
    main()

"""Large workflow documents for the editor tests and ``benchmarks/editing.py``.

``workflow(n)`` is a valid chain of ``n`` steps using what an editor must know about:
an ``inputSchema``, variables, a Connection step feeding an http Agent, agents reading
earlier outputs through references and templates, Conditionals with both edges, Logs,
Filters (``item``), a While (``loop``) and a Split with its own subgraph.
"""

from __future__ import annotations

import json
from typing import Any


def _ref(path: str) -> dict[str, Any]:
    return {"valueType": "reference", "value": path}


def _step(index: int, previous: str) -> dict[str, Any]:
    # (the Connection step's outputs are secret: only the http agent may read them)
    prev = f"steps['{previous}'].outputs" if previous != "orders-api" else "data.orders"
    kind = index % 8
    if kind == 0:
        return {
            "stepType": "Agent",
            "agentId": "http",
            "capabilityId": "http-request",
            "connectionId": "orders-api",
            "inputMapping": {
                "url": {"valueType": "template", "value": "/orders/{{ data.customer.id }}"},
                "method": {"valueType": "immediate", "value": "GET"},
                "headers": {
                    "valueType": "composite",
                    "value": {"X-Trace": _ref("variables.trace_header")},
                },
            },
        }
    if kind == 1:
        return {
            "stepType": "Agent",
            "agentId": "transform",
            "capabilityId": "extract",
            "inputMapping": {
                "value": _ref(f"{prev}.body"),
                "property_path": {"valueType": "immediate", "value": "total"},
            },
        }
    if kind == 2:
        return {
            "stepType": "Conditional",
            "condition": {
                "type": "operation",
                "op": "GT",
                "arguments": [_ref("data.amount"), {"valueType": "immediate", "value": 100}],
            },
        }
    if kind == 3:
        return {
            "stepType": "Log",
            "level": "info",
            "message": f"step {index}",
            "context": {"previous": _ref(prev)},
        }
    if kind == 4:
        return {
            "stepType": "Filter",
            "config": {
                "value": _ref("data.orders"),
                "condition": {
                    "op": "EQ",
                    "arguments": [
                        _ref("item.status"),
                        {"valueType": "immediate", "value": "open"},
                    ],
                },
            },
        }
    if kind == 5:
        return {
            "stepType": "Agent",
            "agentId": "text",
            "capabilityId": "render-template",
            "inputMapping": {
                "text": {"valueType": "template", "value": "Hello {{ data.customer.name }}"},
                "context": {"valueType": "composite", "value": {"n": _ref(prev)}},
            },
        }
    if kind == 6:
        return {
            "stepType": "While",
            "condition": {
                "op": "LT",
                "arguments": [_ref("loop.index"), {"valueType": "immediate", "value": 3}],
            },
            "config": {"maxIterations": 5},
            "subgraph": {
                "entryPoint": "tick",
                "steps": {"tick": {"stepType": "Finish", "id": "tick"}},
            },
        }
    return {
        "stepType": "Split",
        "config": {"value": _ref("data.orders"), "parallelism": 4},
        "subgraph": {
            "entryPoint": "each",
            "steps": {
                "each": {
                    "stepType": "Finish",
                    "id": "each",
                    "inputMapping": {"order": _ref("data.id")},
                }
            },
        },
    }


def workflow(steps: int) -> dict[str, Any]:
    """A valid document of ``steps`` steps (at least 3: connection, work, finish)."""
    graph: dict[str, Any] = {
        "orders-api": {
            "stepType": "Connection",
            "id": "orders-api",
            "connectionId": "orders-api",
            "integrationId": "http_bearer",
        }
    }
    plan: list[dict[str, Any]] = []
    previous = "orders-api"
    for index in range(1, steps - 1):
        step_id = f"step-{index}"
        graph[step_id] = {"id": step_id, "name": f"Step {index}", **_step(index, previous)}
        if graph[previous]["stepType"] == "Conditional":
            plan.append({"fromStep": previous, "toStep": step_id, "label": "true"})
            plan.append({"fromStep": previous, "toStep": step_id, "label": "false"})
        else:
            plan.append({"fromStep": previous, "toStep": step_id})
        previous = step_id
    graph["finish"] = {
        "stepType": "Finish",
        "id": "finish",
        "inputMapping": {"result": _ref(f"steps['{previous}'].outputs")},
    }
    plan.append({"fromStep": previous, "toStep": "finish"})
    return {
        "name": f"orders-{steps}",
        "description": "Generated: a chain of steps over the orders API.",
        "inputSchema": {
            "orders": {"type": "array", "required": True, "description": "Orders to check."},
            "amount": {"type": "number", "description": "Threshold amount."},
            "customer": {
                "type": "object",
                "description": "Who the orders are for.",
                "properties": {
                    "id": {"type": "string", "description": "Customer id."},
                    "name": {"type": "string", "description": "Display name."},
                },
            },
        },
        "variables": {
            "trace_header": {"type": "string", "value": "runtara", "description": "X-Trace."},
        },
        "steps": graph,
        "entryPoint": "orders-api",
        "executionPlan": plan,
    }


def text(steps: int) -> str:
    """``workflow(steps)`` as an editor holds it: indented JSON."""
    return json.dumps(workflow(steps), indent=2) + "\n"

"""Run generated workflow modules against a real embedded runtime, in this process.

The module is generated from the document, executed as Python source, and run as an
instance of a real runtime (SQLite in a temp dir, HTTP on a loopback port) through the
real SDK; the outcome is read back from the management API, as an operator would.
"""

from __future__ import annotations

import itertools
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtara.compiler.codegen import generate
from runtara.dsl import Workflow
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.store import connections, open_store
from runtara.sdk import Runtara, flow

TENANT = "codegen-tests"


@dataclass
class Outcome:
    status: str
    output: Any
    error: Any
    instance_id: str
    exit_code: int
    source: str

    @property
    def message(self) -> str | None:
        return self.error.get("message") if isinstance(self.error, dict) else self.error


class Runtime:
    def __init__(self, embedded: EmbeddedRuntime, database: Path) -> None:
        self.url = embedded.url
        self.database = database
        self.secret_key = embedded.settings.effective_secret_key()
        self.api = httpx.Client(base_url=self.url, headers={"X-Runtara-Tenant": TENANT})

    def add_connection(
        self, connection_id: str, integration: str, parameters: dict[str, Any]
    ) -> None:
        with open_store(f"sqlite:///{self.database}", secret_key=self.secret_key) as store:
            store.run(
                connections.create_connection,
                store.secrets,
                TENANT,
                connection_id,
                integration,
                parameters,
            )

    def post(self, path: str, body: Any = None) -> dict[str, Any]:
        answer = self.api.post(path, json=body)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def instance(self, instance_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/v1/instances/{instance_id}")
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def events(self, instance_id: str, subtype: str | None = None) -> list[dict[str, Any]]:
        answer = self.api.get(f"/v1/instances/{instance_id}/events", params={"limit": 1000})
        answer.raise_for_status()
        events = answer.json()["events"]
        return [e for e in events if subtype is None or e["subtype"] == subtype]

    def checkpoints(self, instance_id: str) -> list[str]:
        answer = self.api.get(f"/v1/instances/{instance_id}/checkpoints", params={"limit": 1000})
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        return [c["checkpoint_id"] for c in answer.json()["checkpoints"]]

    def run(
        self,
        document: dict[str, Any],
        data: Any = None,
        *,
        children: dict[str, dict[str, Any]] | None = None,
        instance_id: str | None = None,
        module: types.ModuleType | None = None,
    ) -> Outcome:
        if module is None:
            module = load_module(self.generate(document, children))
        instance_id = instance_id or f"case-{uuid.uuid4().hex[:10]}"
        client = Runtara(instance_id, TENANT, url=self.url, input=data, retry_seconds=5)
        try:
            code = flow.execute(
                client,
                module.graph_main,
                variables=module.VARIABLES,
                input_schema=module.INPUT_SCHEMA,
                debug=module.DEBUG,
                timeout_s=module.TIMEOUT_SECONDS,
            )
        finally:
            client.close()
        state = self.instance(instance_id)
        source = module.__dict__.get("__source__", "")
        return Outcome(state["status"], state["output"], state["error"], instance_id, code, source)

    @staticmethod
    def generate(
        document: dict[str, Any], children: dict[str, dict[str, Any]] | None = None
    ) -> str:
        workflow = Workflow.model_validate(document)
        kids = {k: Workflow.model_validate(v) for k, v in (children or {}).items()}
        return generate(workflow, children=kids, source="case.json")


def load_module(source: str) -> types.ModuleType:
    module = types.ModuleType(f"generated_{uuid.uuid4().hex[:8]}")
    module.__dict__["__source__"] = source
    exec(compile(source, f"<{module.__name__}>", "exec"), module.__dict__)
    return module


def start_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """Body of a test module's ``runtime`` fixture: an embedded runtime on a temp SQLite."""
    database = Path(tmp_path_factory.mktemp("runtime")) / "runtara.db"
    with EmbeddedRuntime(f"sqlite:///{database}") as embedded:
        yield Runtime(embedded, database)


# ---------------------------------------------------------------- document builders


def imm(value: Any) -> dict[str, Any]:
    return {"valueType": "immediate", "value": value}


def ref(path: str, **extra: Any) -> dict[str, Any]:
    return {"valueType": "reference", "value": path, **extra}


def tpl(text: str) -> dict[str, Any]:
    return {"valueType": "template", "value": text}


def op(name: str, *arguments: Any) -> dict[str, Any]:
    return {"type": "operation", "op": name, "arguments": list(arguments)}


def finish(step_id: str = "done", **mapping: Any) -> dict[str, Any]:
    return {"stepType": "Finish", "id": step_id, "inputMapping": mapping}


def graph(*steps: dict[str, Any], edges: list[Any] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    """A graph of ``steps`` (the first is the entry point); edges as (from, to[, label])."""
    plan = []
    for edge in edges:
        if isinstance(edge, dict):
            plan.append(edge)
        else:
            source, target, *label = edge
            plan.append(
                {"fromStep": source, "toStep": target, **({"label": label[0]} if label else {})}
            )
    return {
        "entryPoint": steps[0]["id"],
        "steps": {step["id"]: step for step in steps},
        "executionPlan": plan,
        **extra,
    }


def chain(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Steps run one after another."""
    edges = [(a["id"], b["id"]) for a, b in itertools.pairwise(steps)]
    return graph(*steps, edges=edges, **extra)


def agent(step_id: str, agent_id: str, capability: str, **mapping: Any) -> dict[str, Any]:
    return {
        "stepType": "Agent",
        "id": step_id,
        "agentId": agent_id,
        "capabilityId": capability,
        "inputMapping": mapping,
    }


def echo(step_id: str, value: Any) -> dict[str, Any]:
    """An Agent step whose output is ``value`` (utils:return-input)."""
    return agent(step_id, "utils", "return-input", value=value)

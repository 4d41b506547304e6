"""``runtara run``: generate the module and run it as a real instance, here and now.

The module runs in a child Python process with the same ``RUNTARA_*`` environment a
runner (or the native binary) gets, against an embedded runtime on SQLite under
``.data/`` (or ``--server``). This process plays the runner: when the instance goes
to sleep (a durable Delay) it waits, showing progress, and starts it again; when the
instance is paused or cancelled it stops. Ctrl-C stops the child; a rerun with the same
``--id`` resumes from its checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from runtara.compiler.codegen.documents import load_children, read_workflow
from runtara.compiler.codegen.render import generate

DEFAULT_TENANT = "default"
DATA_DIR = Path(".data")


class LaunchError(Exception):
    """Something ``runtara run`` was given cannot be used (named in the message)."""


@dataclass
class RunRequest:
    workflow: Path
    input: Any = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: str | None = None
    instance_id: str = ""
    children: list[Path] = field(default_factory=list)
    tenant: str = DEFAULT_TENANT

    @classmethod
    def from_cli(
        cls,
        workflow: Path,
        *,
        input_text: str | None,
        connections: list[str],
        server: str | None,
        instance_id: str | None,
        children: list[Path],
    ) -> RunRequest:
        return cls(
            workflow=workflow,
            input={} if input_text is None else _json_argument(input_text, "--input"),
            connections=dict(_connection_argument(item) for item in connections),
            server=server.rstrip("/") if server else None,
            instance_id=instance_id or f"run-{uuid.uuid4().hex[:12]}",
            children=children,
            tenant=os.environ.get("RUNTARA_TENANT") or DEFAULT_TENANT,
        )


@dataclass
class Outcome:
    exit_code: int
    printed: str | None = None
    """The workflow output as JSON text (stdout), when it completed."""
    message: str | None = None
    """One line for stderr."""


Progress = Callable[[str], None]


def run_workflow(request: RunRequest, progress: Progress) -> Outcome:
    """Run the workflow (a JSON file, or a ``runtara compile`` output directory)."""
    if request.workflow.is_dir():
        command = _compiled_binary(request.workflow)
    else:
        command = [sys.executable, str(_write_module(request))]
    with _runtime(request.server) as (url, store_connection):
        api = _Management(url, request.tenant)
        for connection_id, body in request.connections.items():
            if store_connection is not None:
                store_connection(request.tenant, connection_id, body)
            else:
                api.put_connection(connection_id, body)
        return _drive(request, api, url, command, progress)


def _write_module(request: RunRequest) -> Path:
    """Generate the module under ``.data/runs/<tenant>/<id>/`` (kept, for reading)."""
    workflow = read_workflow(request.workflow, request.children)
    source = generate(
        workflow, children=load_children(request.children), source=str(request.workflow)
    )
    run_dir = DATA_DIR / "runs" / request.tenant / request.instance_id
    run_dir.mkdir(parents=True, exist_ok=True)
    module = run_dir / "workflow.py"
    module.write_text(source, encoding="utf-8")
    return module


def _compiled_binary(directory: Path) -> list[str]:
    """The native binary of a ``runtara compile`` output directory."""
    try:
        from runtara.compiler.native.workflow import CompileError, read_build
    except ImportError as exc:
        raise LaunchError(f"{directory}: native builds are not available ({exc})") from None
    try:
        build = read_build(directory)
    except CompileError as exc:
        raise LaunchError(str(exc)) from None
    binary = directory / build.binary
    if not os.access(binary, os.X_OK):
        raise LaunchError(f"{directory}: the binary {build.binary} is missing or not executable")
    return [str(binary.resolve())]


def _drive(
    request: RunRequest, api: _Management, url: str, command: list[str], progress: Progress
) -> Outcome:
    """Start the instance process until it ends, waking it from durable sleeps."""
    known = api.instance(request.instance_id)
    if known is not None and known["status"] in ("completed", "failed", "cancelled"):
        progress(f"instance {request.instance_id} already ended ({known['status']})")
        return _outcome(known, request.instance_id)
    progress(f"instance {request.instance_id} on {url} (rerun with --id to resume)")
    environment = {
        **os.environ,
        "RUNTARA_URL": url,
        "RUNTARA_INSTANCE_ID": request.instance_id,
        "RUNTARA_TENANT_ID": request.tenant,
        "RUNTARA_INSTANCE_TOKEN": "",
        "RUNTARA_INPUT": json.dumps(request.input),
    }
    while True:
        try:
            code = _run_child(command, environment)
        except KeyboardInterrupt:
            return Outcome(
                130, message=f"interrupted; rerun with --id {request.instance_id} to resume"
            )
        state = api.instance(request.instance_id)
        if state is None:
            return Outcome(1, message=f"the instance process exited ({code}) without registering")
        if state["status"] == "sleeping":
            _wait_until(state.get("wake_at"), progress)
            continue
        if state["status"] in ("running", "pending"):
            return Outcome(
                1,
                message=f"the instance process exited with status {code} without reporting "
                f"an outcome; rerun with --id {request.instance_id} to resume",
            )
        return _outcome(state, request.instance_id)


def _outcome(state: dict[str, Any], instance_id: str) -> Outcome:
    status = state["status"]
    if status == "completed":
        return Outcome(0, printed=json.dumps(state.get("output"), indent=2, ensure_ascii=False))
    if status == "failed":
        error = state.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return Outcome(1, message=f"failed: {message}")
    if status == "suspended":
        return Outcome(3, message=f"suspended (paused); resume instance {instance_id} to go on")
    return Outcome(3, message=f"{status}")


def _run_child(command: list[str], environment: dict[str, str]) -> int:
    """Run the instance; its stdout joins our stderr (our stdout is the workflow output)."""
    child = subprocess.Popen(
        command,
        env=environment,
        stdout=sys.stderr.fileno(),
        start_new_session=True,
    )
    try:
        return child.wait()
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
        raise


def _wait_until(wake_at: str | None, progress: Progress) -> None:
    due = _parse_time(wake_at) if wake_at else time.time()
    last_shown = 0.0
    while (left := due - time.time()) > 0:
        if time.monotonic() - last_shown >= 5 or last_shown == 0:
            progress(f"sleeping: wakes in {_duration(left)}")
            last_shown = time.monotonic()
        time.sleep(min(left, 1.0))


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.999)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


StoreConnection = Callable[[str, str, dict[str, Any]], None]


@contextlib.contextmanager
def _runtime(server: str | None) -> Iterator[tuple[str, StoreConnection | None]]:
    """The runtime URL (``--server``, or an embedded one for this command), and for the
    embedded one a way to store connections straight into its database."""
    if server is not None:
        yield server, None
        return
    from runtara.runtime.embedded import EmbeddedRuntime
    from runtara.runtime.errors import Conflict
    from runtara.runtime.store import DEFAULT_DATABASE_URL, connections, open_store

    DATA_DIR.mkdir(exist_ok=True)
    database_url = os.environ.get("RUNTARA_DATABASE_URL") or DEFAULT_DATABASE_URL
    with EmbeddedRuntime(database_url) as runtime:
        key = runtime.settings.effective_secret_key()
        with open_store(database_url, secret_key=key) as store:

            def store_connection(tenant: str, connection_id: str, body: dict[str, Any]) -> None:
                integration, parameters = body["integrationId"], body["parameters"]
                try:
                    store.run(
                        connections.create_connection,
                        store.secrets,
                        tenant,
                        connection_id,
                        integration,
                        parameters,
                    )
                except Conflict:
                    store.run(
                        connections.update_connection,
                        store.secrets,
                        tenant,
                        connection_id,
                        parameters,
                    )

            yield runtime.url, store_connection


class _Management:
    """The few management calls ``runtara run`` needs (dev mode: tenant by header)."""

    def __init__(self, url: str, tenant: str) -> None:
        headers = {"X-Runtara-Tenant": tenant}
        api_key = os.environ.get("RUNTARA_API_KEY")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(base_url=url, headers=headers, timeout=30)

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        answer = self._call("GET", f"/v1/instances/{instance_id}")
        return None if answer.status_code == 404 else answer.json()

    def put_connection(self, connection_id: str, body: dict[str, Any]) -> None:
        answer = self._call("PUT", f"/v1/connections/{connection_id}", json=body)
        if answer.status_code in (404, 405):
            answer = self._call("POST", "/v1/connections", json={"id": connection_id, **body})
        if answer.status_code >= 400:
            raise LaunchError(
                f"--connection {connection_id}: the runtime refused it ({answer.status_code}): "
                f"{_problem(answer)}"
            )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LaunchError(
                f"cannot reach the runtime at {self.client.base_url}: {exc}"
            ) from None
        if answer.status_code in (401, 403):
            raise LaunchError(
                f"the runtime refused access: {_problem(answer)} (set RUNTARA_API_KEY)"
            )
        return answer


def _problem(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)


def _json_argument(text: str, option: str) -> Any:
    source = option
    if text.startswith("@"):
        path = Path(text[1:])
        source = f"{option} {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LaunchError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LaunchError(
            f"{source}: invalid JSON at {exc.lineno}:{exc.colno}: {exc.msg}"
        ) from None


def _connection_argument(item: str) -> tuple[str, dict[str, Any]]:
    connection_id, sep, value = item.partition("=")
    if not sep or not connection_id or not value.startswith("@"):
        raise LaunchError(f"--connection {item!r}: expected ID=@FILE.json")
    body = _json_argument(value, f"--connection {connection_id}")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("integrationId"), str)
        or not isinstance(body.get("parameters"), dict)
    ):
        raise LaunchError(
            f'--connection {connection_id}: the file must hold {{"integrationId": "...", '
            '"parameters": {...}}'
        )
    return connection_id, body

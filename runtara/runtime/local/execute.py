"""``runtara run``: generate the module and run it as a real instance, here and now.

The module runs in a child Python process (or the native binary of a ``runtara
compile`` output directory) with the ``RUNTARA_*`` environment a runner gives an
instance, against the store on SQLite under ``.data/`` (or ``--server``). A JSON
workflow talks to the store through this process over an inherited socket
(``channel.py``: no HTTP server, no web framework); a compiled binary, a run with
``--connection`` files, or one traced to OpenTelemetry gets the embedded HTTP runtime.
The instance registers itself, so it has no runner: a durable Delay sleeps in the
child with its end fixed in the store, and Ctrl-C then a rerun with the same ``--id``
waits only for the rest and resumes from the checkpoints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtara.compiler.codegen.documents import load_children, read_workflow
from runtara.compiler.codegen.render import generate
from runtara.runtime.local.request import RunError, RunRequest
from runtara.runtime.runners import environment as instance_environment
from runtara.runtime.runners import tiers

if TYPE_CHECKING:
    from runtara.client import Client
    from runtara.runtime.local.channel import InstanceChannel
    from runtara.runtime.store import Store

DATA_DIR = Path(".data")
#: The instance's progress channel (``runtara.agents.progress``: the image side cannot be
#: imported here).
PROGRESS_FD = "RUNTARA_PROGRESS_FD"
#: The child's exit status when it reported ``failed`` itself (``flow.main``).
CHILD_FAILED = 1


@dataclass
class Outcome:
    exit_code: int
    printed: str | None = None
    """The workflow output as JSON text (stdout), when it completed."""
    message: str | None = None
    """One line for stderr."""


@dataclass(frozen=True)
class Event:
    """Progress for people: ``kind`` ``message`` (this command's own, or the
    instance's), ``log`` (a Log step), ``retry`` (a step attempt failed; ``fields`` has
    ``step``, ``attempt``, ``attempts``, ``cause``, ``wait_s``) or ``sleep`` (a durable
    sleep in place begins; ``fields`` has ``seconds``). ``text`` is the line to print
    (None for a countdown only). See ``runtara.agents.progress``."""

    kind: str
    text: str | None
    fields: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[Event], None]


def run_workflow(request: RunRequest, progress: Progress, report: Callable[[Outcome], None]) -> int:
    """Run the workflow (a JSON file, or a ``runtara compile`` output directory); return
    the exit status.

    ``report`` gets the outcome as soon as it is known, before the embedded runtime
    shuts down (uvicorn's shutdown takes 0.1-0.2 s), so the output shows at once.
    """
    generated = None if request.workflow.is_dir() else _generate(request)
    with _run_directory(request) as run_dir:
        if generated is None:
            command, tier = _compiled_binary(request.workflow)
        else:
            source, tier = generated
            command = [sys.executable, str(_write(run_dir / "workflow.py", source))]
        child = Child(command, run_dir, tiers.check_tier(tier))
        if generated is not None and _in_process(request):
            with _local_store() as (store, settings):
                outcome = _drive(request, _Local(store, settings, request.tenant), child, progress)
                report(outcome)
            return outcome.exit_code
        with _runtime(request.server) as url, _management(url, request.tenant) as api:
            for connection_id, body in request.connections.items():
                _store_connection(api, connection_id, body)
            outcome = _drive(request, _Remote(api), child, progress)
            report(outcome)
    return outcome.exit_code


def _in_process(request: RunRequest) -> bool:
    """Whether the store can answer the instance directly (see the module's docstring)."""
    traced = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return request.server is None and not request.connections and not traced


class _Runtime(Protocol):
    """What ``_drive`` needs of the runtime: where it is, the instance, its channel."""

    url: str

    def instance(self, instance_id: str) -> dict[str, Any] | None: ...

    def channel(self, instance_id: str) -> InstanceChannel | None: ...


class _Remote:
    """A runtime over HTTP: ``--server``, or the embedded one."""

    def __init__(self, api: Client) -> None:
        self.api = api
        self.url = api.url

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        return _instance(self.api, instance_id)

    def channel(self, instance_id: str) -> InstanceChannel | None:
        return None


class _Local:
    """The store itself; the instance talks to it through an ``InstanceChannel``."""

    def __init__(self, store: Store, settings: Any, tenant: str) -> None:
        from runtara.runtime.store import redact_url

        self.store = store
        self.settings = settings
        self.tenant = tenant
        self.url = redact_url(settings.database_url)

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        from runtara.runtime.errors import NotFound
        from runtara.runtime.store import instances

        try:
            found = self.store.run(instances.get_instance, self.tenant, instance_id)
        except NotFound:
            return None
        return {"status": found.status, "output": found.output, "error": found.error}

    def channel(self, instance_id: str) -> InstanceChannel | None:
        from runtara.runtime.local.channel import InstanceChannel

        return InstanceChannel(self.store, self.settings, self.tenant, instance_id)


@contextlib.contextmanager
def _local_store() -> Iterator[tuple[Store, Any]]:
    """The store the embedded runtime would open (same settings, same dev secret key)."""
    from runtara.runtime.errors import StoreUnavailable
    from runtara.runtime.settings import Settings
    from runtara.runtime.store import DEFAULT_DATABASE_URL, open_store

    DATA_DIR.mkdir(exist_ok=True)
    url = os.environ.get("RUNTARA_DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        settings = Settings.from_env(database_url=url, dev=True)
        store = open_store(settings.database_url, secret_key=settings.effective_secret_key())
    except StoreUnavailable as exc:
        raise RunError(str(exc)) from None
    try:
        yield store, settings
    finally:
        store.close()


@dataclass(frozen=True)
class Child:
    """How the instance process runs: its command, its folder, the workflow's memory
    tier (enforced as the address-space and stack rlimits)."""

    command: list[str]
    run_dir: Path
    memory_tier: str


def _generate(request: RunRequest) -> tuple[str, str]:
    """The generated module and the workflow's memory tier."""
    workflow = read_workflow(request.workflow, request.children)
    source = generate(
        workflow, children=load_children(request.children), source=str(request.workflow)
    )
    return source, workflow.memory_tier


@contextlib.contextmanager
def _run_directory(request: RunRequest) -> Iterator[Path]:
    """``.data/runs/<tenant>/<id>/``, held for this run alone.

    Two runs of one instance at once would both execute its steps (the runtime lets a
    process register again, which is how a crashed one resumes), so a second
    ``runtara run --id`` here is refused while the first holds the lock; the kernel
    drops the lock when a process dies, so a rerun after a crash is never blocked.
    """
    run_dir = DATA_DIR / "runs" / request.tenant / request.instance_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = (run_dir / ".lock").open("w")
    except OSError as exc:
        raise RunError(f"cannot write in {run_dir}: {exc.strerror}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(
                f"instance {request.instance_id} is being run by another `runtara run` "
                "here; wait for it or stop it first"
            ) from None
        yield run_dir


def _write(module: Path, source: str) -> Path:
    """The generated module, kept beside the run (for reading, and for the rerun)."""
    try:
        module.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write {module}: {exc.strerror}") from None
    return module


def _compiled_binary(directory: Path) -> tuple[list[str], str]:
    """The native binary of a ``runtara compile`` output directory, and its memory tier."""
    try:
        from runtara.compiler.native.workflow import CompileError, read_build
    except ImportError as exc:
        raise RunError(f"{directory}: native builds are not available ({exc})") from None
    try:
        build = read_build(directory)
    except CompileError as exc:
        raise RunError(str(exc)) from None
    binary = directory / build.binary
    if not os.access(binary, os.X_OK):
        raise RunError(f"{directory}: the binary {build.binary} is missing or not executable")
    return [str(binary.resolve())], build.memory_tier


def _drive(request: RunRequest, api: _Runtime, child: Child, progress: Progress) -> Outcome:
    """Run the instance process once and report how the instance stands afterwards."""
    known = api.instance(request.instance_id)
    if known is not None and known["status"] in ("completed", "failed", "cancelled"):
        progress(
            Event("message", f"instance {request.instance_id} already ended ({known['status']})")
        )
        return _outcome(known, request.instance_id, reported=False)
    progress(
        Event("message", f"instance {request.instance_id} on {api.url} (rerun with --id to resume)")
    )
    channel = api.channel(request.instance_id)
    environment = {
        **instance_environment.from_server(),
        "RUNTARA_URL": api.url if channel is None else channel.url,
        "RUNTARA_INSTANCE_ID": request.instance_id,
        "RUNTARA_TENANT_ID": request.tenant,
        "RUNTARA_INSTANCE_TOKEN": "",
        "PYTHONUNBUFFERED": "1",
        **tiers.ALLOCATOR_ENVIRONMENT,
        **_input_environment(request.input, child.run_dir),
    }
    try:
        code = _run_child(child, environment, progress, channel)
    except KeyboardInterrupt:
        return Outcome(130, message=f"interrupted; rerun with --id {request.instance_id} to resume")
    finally:
        if channel is not None:
            channel.close()
    state = api.instance(request.instance_id)
    if state is None:
        hint = " (is --server a `runtara server --dev`?)" if request.server else ""
        return Outcome(1, message=f"the instance process exited ({code}) without registering{hint}")
    if state["status"] in ("completed", "failed", "cancelled", "suspended"):
        return _outcome(state, request.instance_id, reported=code == CHILD_FAILED)
    ended = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    return Outcome(
        1,
        message=f"the instance process {ended} without reporting an outcome; "
        f"rerun with --id {request.instance_id} to resume",
    )


def _outcome(state: dict[str, Any], instance_id: str, *, reported: bool) -> Outcome:
    """``reported``: the child already printed its failure line, so it is not repeated."""
    status = state["status"]
    if status == "completed":
        return Outcome(0, printed=json.dumps(state.get("output"), indent=2, ensure_ascii=False))
    if status == "failed":
        error = state.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return Outcome(1, message=None if reported else f"failed: {message}")
    if status == "suspended":
        return Outcome(3, message=f"paused; rerun with --id {instance_id} to go on")
    return Outcome(3, message=f"instance {instance_id} was {status}")


def _input_environment(value: Any, run_dir: Path) -> dict[str, str]:
    """The input in ``RUNTARA_INPUT``, or in a file named by ``RUNTARA_INPUT_FILE`` when
    it is too large for the environment (the kernel takes at most 128 KiB per variable)."""
    encoded = json.dumps(value, separators=(",", ":"))
    if len(encoded.encode()) <= instance_environment.MAX_ENV_INPUT_BYTES:
        return {"RUNTARA_INPUT": encoded}
    path = run_dir / "input.json"
    try:
        path.write_text(encoded, encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror}") from None
    return {"RUNTARA_INPUT_FILE": str(path.resolve())}


def _run_child(
    child: Child,
    environment: dict[str, str],
    progress: Progress,
    channel: InstanceChannel | None = None,
) -> int:
    """Run the instance; its stdout joins our stderr (our stdout is the workflow output).

    Its progress reports come as events on a pipe (``RUNTARA_PROGRESS_FD``), passed
    on to ``progress`` from a reader thread. It runs in its own session, so a Ctrl-C
    reaches only us; we stop it with SIGTERM. It gets the allow-listed environment
    only, and its memory tier as its ceiling.
    """
    if channel is not None:
        channel.start()
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            child.command,
            env={**environment, PROGRESS_FD: str(write_end)},
            stdout=sys.stderr.fileno(),
            start_new_session=True,
            pass_fds=(write_end,) if channel is None else (write_end, channel.child_fd),
            preexec_fn=tiers.memory_limits(child.memory_tier, child.command[0]),
        )
    except OSError as exc:
        os.close(read_end)
        raise RunError(f"cannot start {child.command[0]}: {exc.strerror}") from None
    finally:
        os.close(write_end)
    if channel is not None:
        channel.started_child()
    reader = threading.Thread(
        target=_read_events, args=(read_end, progress), name="runtara-progress", daemon=True
    )
    reader.start()
    try:
        with _interrupted_by(signal.SIGTERM, signal.SIGHUP):
            code = process.wait()
        # the pipe ends with the process: every report is shown before the outcome (a
        # process it started and left behind may hold the pipe: not waited for)
        reader.join(timeout=2)
        return code
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


def _read_events(descriptor: int, progress: Progress) -> None:
    """Each line on the pipe is one JSON report from the instance; a line that is not
    (a program of its own writing there) is shown as it is."""
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as pipe:
        for line in pipe:
            try:
                report = json.loads(line)
                kind, text = str(report.pop("kind")), report.pop("text")
            except (ValueError, KeyError, AttributeError, TypeError):
                progress(Event("message", line.rstrip("\n")))
                continue
            progress(Event(kind, None if text is None else str(text), report))


@contextlib.contextmanager
def _interrupted_by(*signals: signal.Signals) -> Iterator[None]:
    """Take these signals as a Ctrl-C while the child runs: a ``timeout`` or a closed
    terminal then stops the instance process too, instead of leaving it orphaned."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _runtime(server: str | None) -> Iterator[str]:
    """The runtime's URL: ``--server``, or an embedded one serving for this command."""
    if server is not None:
        yield server
        return
    from runtara.runtime.embedded import EmbeddedRuntime
    from runtara.runtime.errors import StoreUnavailable
    from runtara.runtime.store import DEFAULT_DATABASE_URL

    DATA_DIR.mkdir(exist_ok=True)
    runtime = EmbeddedRuntime(os.environ.get("RUNTARA_DATABASE_URL") or DEFAULT_DATABASE_URL)
    try:
        runtime.start()
    except StoreUnavailable as exc:
        runtime.stop()
        raise RunError(str(exc)) from None
    try:
        yield runtime.url
    finally:
        runtime.stop()


@contextlib.contextmanager
def _management(url: str, tenant: str) -> Iterator[Client]:
    """The management client, closed before the runtime stops (an open keep-alive
    connection makes the server's shutdown wait for it).

    On plain HTTP its TLS context loads no CA bundle: loading one costs 0.1 s, a third
    of this command's own work, and a context without CAs trusts nothing anyway.
    """
    import httpx

    from runtara.client import Client

    transport = None
    if url.startswith("http://"):
        transport = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    with Client(url, tenant=tenant, transport=transport) as client:
        yield client


def _instance(api: Client, instance_id: str) -> dict[str, Any] | None:
    from runtara.client import ApiError

    try:
        return api.get_instance(instance_id)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise RunError(_refused(exc, api.url)) from None


def _store_connection(api: Client, connection_id: str, body: dict[str, Any]) -> None:
    """Store (or replace) the connection as the file has it; the runtime checks it."""
    from runtara.client import ApiError

    integration, parameters = body["integrationId"], body["parameters"]
    try:
        try:
            api.create_connection(connection_id, integration, parameters)
        except ApiError as exc:
            if exc.status != 409:
                raise
            if api.get_connection(connection_id)["integration_id"] == integration:
                api.update_connection(connection_id, parameters)
            else:
                api.delete_connection(connection_id)
                api.create_connection(connection_id, integration, parameters)
    except ApiError as exc:
        raise RunError(f"--connection {connection_id}: {_refused(exc, api.url)}") from None


def _refused(exc: Any, url: str) -> str:
    if exc.status == 0:
        return exc.detail
    if exc.status in (401, 403):
        return f"the runtime at {url} refused access: {exc.detail} (set RUNTARA_API_KEY)"
    return exc.detail

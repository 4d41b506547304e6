"""The docker runner: an instance as a container on the local Docker engine.

Every container is locked down: memory (and swap) limit, CPU quota (``nano_cpus``),
a pids limit, a read-only root filesystem with a small ``/tmp`` tmpfs, no new
privileges, every capability dropped, an open-files ulimit. It joins the network
in ``network`` (``host`` by default, so an instance reaches a runtime listening on
127.0.0.1; with a bridge network, point ``RUNTARA_INSTANCE_URL`` at the gateway).
Labels name its tenant, instance and server. Its output is streamed while it runs; it
is removed once it has ended and its output and usage have been collected.

The docker SDK is blocking: calls run on threads, and each container has a few
threads of its own (wait, output, statistics) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import requests

from runtara.runtime.runners import environment
from runtara.runtime.runners.base import Exited, Launched, LaunchError, LaunchSpec, LogLines, Runner

TMPFS = {"/tmp": "rw,nosuid,nodev,size=64m"}


def _timestamp_ns(stamp: bytes) -> int:
    """Docker's RFC 3339 timestamp (nanoseconds, trailing zeros trimmed) -> epoch ns."""
    text = stamp.decode().rstrip("Z")
    whole, _, fraction = text.partition(".")
    seconds = int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


class ContainerHandle(Launched):
    """A running container. Output is read with the engine's timestamps, and ``ref``
    records the timestamp of the last line stored per stream, so an adopting server
    asks the engine for what came after exactly that."""

    def __init__(
        self, container: Any, applied: dict[str, Any], *, after: dict[str, int] | None = None
    ) -> None:
        self.container = container
        self.applied = applied
        self._lines: deque[tuple[str, str, int]] = deque()
        self._stored_until = dict(after or {"stdout": 0, "stderr": 0})
        self._peak_memory: int | None = None
        self._cpu_ns: int | None = None
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[Exited] = self._loop.create_future()
        self._readers = [
            threading.Thread(
                target=self._read, args=(stream, self._stored_until.get(stream, 0)), daemon=True
            )
            for stream in ("stdout", "stderr")
        ]
        for reader in self._readers:
            reader.start()
        threading.Thread(target=self._sample, daemon=True).start()
        threading.Thread(target=self._wait, daemon=True).start()

    @property
    def ref(self) -> str:
        return json.dumps({"container": self.container.id, "after": self._stored_until})

    def _read(self, stream: str, after_ns: int) -> None:
        partial = b""
        since = after_ns // 1000 / 1_000_000 if after_ns else None  # floor to microseconds

        def emit(raw: bytes) -> None:
            stamp, _, text = raw.partition(b" ")
            try:
                at = _timestamp_ns(stamp)
            except ValueError:
                at = after_ns
            if at > after_ns:  # the engine's `since` is coarser than its timestamps
                self._lines.append((stream, text.decode("utf-8", "replace"), at))

        with contextlib.suppress(Exception):
            chunks = self.container.logs(
                stdout=stream == "stdout",
                stderr=stream == "stderr",
                stream=True,
                follow=True,
                timestamps=True,
                since=since,
            )
            for chunk in chunks:
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    emit(line)
        if partial:
            emit(partial)

    def _sample(self) -> None:
        """Peak memory and CPU time from the engine's statistics stream (about 1/s)."""
        with contextlib.suppress(Exception):
            for stats in self.container.stats(stream=True, decode=True):
                memory = stats.get("memory_stats") or {}
                peak = memory.get("max_usage") or memory.get("usage")
                if peak:
                    self._peak_memory = max(self._peak_memory or 0, int(peak))
                total = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
                if total:
                    self._cpu_ns = int(total)

    def _wait(self) -> None:
        code: int | None
        try:
            code = int(self.container.wait()["StatusCode"])
        except Exception:
            code = None
        for reader in self._readers:
            reader.join(timeout=5)
        with contextlib.suppress(Exception):
            self.container.remove(force=True)
        exited = Exited(
            code,
            peak_memory_bytes=self._peak_memory,
            cpu_time_ms=None if self._cpu_ns is None else self._cpu_ns // 1_000_000,
        )
        self._loop.call_soon_threadsafe(self._settle, exited)

    def _settle(self, exited: Exited) -> None:
        if not self._exited.done():
            self._exited.set_result(exited)

    async def wait(self) -> Exited:
        return await asyncio.shield(self._exited)

    def is_running(self) -> bool:
        return not self._exited.done()

    async def _signal(self, name: str) -> None:
        if self._exited.done():
            return
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.container.kill, signal=name)

    async def terminate(self) -> None:
        await self._signal("SIGTERM")

    async def kill(self) -> None:
        await self._signal("SIGKILL")

    def drain_logs(self) -> LogLines:
        drained: LogLines = []
        while self._lines:
            stream, line, at = self._lines.popleft()
            drained.append((stream, line))
            self._stored_until[stream] = at
        return drained


class DockerRunner(Runner):
    name = "docker"

    def __init__(self, *, network: str = "host") -> None:
        self.network = network
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import docker

                try:
                    self._client = docker.from_env()
                    self._client.ping()
                except Exception as exc:
                    self._client = None
                    raise LaunchError(f"the Docker engine is not reachable: {exc}") from None
            return self._client

    def run_options(self, spec: LaunchSpec) -> dict[str, Any]:
        import docker.types

        limits = spec.limits
        options: dict[str, Any] = {
            "environment": environment.allowed(spec.environment),
            "labels": spec.labels,
            "network_mode": self.network,
            "read_only": True,
            "tmpfs": TMPFS,
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "pids_limit": limits.pids,
            "ulimits": [
                docker.types.Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                *(
                    [docker.types.Ulimit(name="stack", soft=stack, hard=stack)]
                    if (stack := limits.stack_bytes)
                    else []
                ),
            ],
            "detach": True,
        }
        if limits.memory_bytes is not None:
            options["mem_limit"] = limits.memory_bytes
            options["memswap_limit"] = limits.memory_bytes
        if limits.cpus is not None:
            options["nano_cpus"] = int(limits.cpus * 1_000_000_000)
        if spec.workdir:
            options["working_dir"] = spec.workdir
        return options

    def _applied(self, spec: LaunchSpec, options: dict[str, Any]) -> dict[str, Any]:
        applied: dict[str, Any] = {
            key: options[key]
            for key in ("network_mode", "read_only", "pids_limit", "mem_limit", "nano_cpus")
            if key in options
        }
        applied.update(
            runner=self.name,
            cap_drop="ALL",
            no_new_privileges=True,
            open_files=spec.limits.open_files,
            image=spec.image,
        )
        if spec.limits.timeout_s is not None:
            applied["timeout_s"] = spec.limits.timeout_s
        return applied

    def _start(self, spec: LaunchSpec) -> tuple[Any, dict[str, Any]]:
        import docker.errors

        if not spec.image:
            raise LaunchError("a container needs an image; this image names none")
        client = self.client()
        options = self.run_options(spec)
        try:
            container = client.containers.run(spec.image, list(spec.argv or []) or None, **options)
        except docker.errors.ImageNotFound:
            raise LaunchError(
                f"container image {spec.image!r} is not on this Docker engine"
            ) from None
        except docker.errors.APIError as exc:
            raise LaunchError(
                f"the Docker engine refused the container: {exc.explanation}"
            ) from None
        except (docker.errors.DockerException, requests.RequestException, ValueError) as exc:
            raise LaunchError(f"the Docker engine could not start the container: {exc}") from None
        return container, self._applied(spec, options)

    async def launch(self, spec: LaunchSpec) -> ContainerHandle:
        container, applied = await asyncio.to_thread(self._start, spec)
        return ContainerHandle(container, applied)

    async def adopt(self, ref: str, spec: LaunchSpec) -> ContainerHandle | None:
        try:
            data = json.loads(ref)
            container_id, after = str(data["container"]), dict(data["after"])
        except (ValueError, KeyError, TypeError):
            return None

        def find() -> Any:
            try:
                container = self.client().containers.get(container_id)
            except Exception:
                return None
            if container.status == "running":
                return container
            with contextlib.suppress(Exception):  # ended while no server watched it
                container.remove(force=True)
            return None

        container = await asyncio.to_thread(find)
        if container is None:
            return None
        return ContainerHandle(container, {}, after={k: int(v) for k, v in after.items()})

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None


def resolve_oci(
    source: str,
    runner: DockerRunner | None = None,
    *,
    archives: bool = True,
    auth: dict[str, str] | None = None,
) -> tuple[str, str, dict[str, str]]:
    """An image archive (path) or reference -> ``(reference, image id, labels)`` on the
    engine (the labels say, e.g., the workflow's memory tier).

    An archive (``docker save`` or OCI layout tar, e.g. from ``runtara compile``) is
    loaded into the engine; a reference must already be there or be pullable (there
    is no Docker Hub here: a local registry such as ``127.0.0.1:5000/...`` works).
    ``auth`` (``username``, ``password``) logs in to the registry for this pull only.
    """
    import docker.errors

    client = (runner or DockerRunner()).client()
    try:
        if archives and os.path.isfile(source):
            return _load_archive(client, source)
        try:
            image = client.images.get(source)
        except docker.errors.ImageNotFound:
            image = client.images.pull(source, auth_config=auth)
    except docker.errors.APIError as exc:
        raise LaunchError(
            f"image {source!r} is neither an archive nor on the Docker engine, and the engine "
            f"could not get it: {exc.explanation}"
        ) from None
    except (docker.errors.DockerException, requests.RequestException, ValueError) as exc:
        raise LaunchError(f"image {source!r}: {exc}") from None
    return source, image.id, dict(image.labels or {})


def _load_archive(client: Any, path: str) -> tuple[str, str, dict[str, str]]:
    try:
        with open(path, "rb") as archive:
            loaded = client.images.load(archive)
    except OSError as exc:
        raise LaunchError(f"cannot read image archive {path}: {exc.strerror}") from None
    if not loaded:
        raise LaunchError(f"{path} holds no image")
    image = loaded[0]
    return (image.tags[0] if image.tags else image.id), image.id, dict(image.labels or {})

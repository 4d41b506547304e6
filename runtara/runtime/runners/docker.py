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
import threading
import time
from collections import deque
from typing import Any

from runtara.runtime.runners.base import Exited, Launched, LaunchError, LaunchSpec, LogLines, Runner

#: The in-container environment: only what the instance needs, none of the server's.
_FORWARDED_PREFIXES = ("RUNTARA_",)
_FORWARDED = ("PYTHONUNBUFFERED",)
TMPFS = {"/tmp": "rw,nosuid,nodev,size=64m"}


def _environment(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_FORWARDED_PREFIXES) or k in _FORWARDED}


class ContainerHandle(Launched):
    def __init__(self, container: Any, applied: dict[str, Any], *, since: int | None) -> None:
        self.container = container
        self.ref = container.id
        self.applied = applied
        self._lines: deque[tuple[str, str]] = deque()
        self._peak_memory: int | None = None
        self._cpu_ns: int | None = None
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[Exited] = self._loop.create_future()
        self._readers = [
            threading.Thread(target=self._read, args=(stream, since), daemon=True)
            for stream in ("stdout", "stderr")
        ]
        for reader in self._readers:
            reader.start()
        threading.Thread(target=self._sample, daemon=True).start()
        threading.Thread(target=self._wait, daemon=True).start()

    def _read(self, stream: str, since: int | None) -> None:
        partial = b""
        with contextlib.suppress(Exception):
            chunks = self.container.logs(
                stdout=stream == "stdout",
                stderr=stream == "stderr",
                stream=True,
                follow=True,
                since=since,
            )
            for chunk in chunks:
                *lines, partial = (partial + chunk).split(b"\n")
                self._lines.extend((stream, line.decode("utf-8", "replace")) for line in lines)
        if partial:
            self._lines.append((stream, partial.decode("utf-8", "replace")))

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
            drained.append(self._lines.popleft())
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
            "environment": _environment(spec.environment),
            "labels": spec.labels,
            "network_mode": self.network,
            "read_only": True,
            "tmpfs": TMPFS,
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "pids_limit": limits.pids,
            "ulimits": [
                docker.types.Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files)
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
        return container, self._applied(spec, options)

    async def launch(self, spec: LaunchSpec) -> ContainerHandle:
        container, applied = await asyncio.to_thread(self._start, spec)
        return ContainerHandle(container, applied, since=None)

    async def adopt(self, ref: str, spec: LaunchSpec) -> ContainerHandle | None:
        def find() -> Any:
            try:
                container = self.client().containers.get(ref)
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
        # Output from now on: what it printed before was stored by the former server.
        return ContainerHandle(container, {}, since=int(time.time()))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None


def resolve_oci(source: str, runner: DockerRunner | None = None) -> tuple[str, str]:
    """An image archive (path) or reference -> ``(reference, image id)`` on the engine.

    An archive (``docker save`` or OCI layout tar, e.g. from ``runtara compile``) is
    loaded into the engine; a reference must already be there or be pullable (there
    is no Docker Hub here: a local registry such as ``127.0.0.1:5000/...`` works).
    """
    import os

    import docker.errors

    client = (runner or DockerRunner()).client()
    if os.path.isfile(source):
        try:
            with open(source, "rb") as archive:
                loaded = client.images.load(archive)
        except (OSError, docker.errors.APIError) as exc:
            raise LaunchError(f"cannot load image archive {source}: {exc}") from None
        if not loaded:
            raise LaunchError(f"{source} holds no image")
        image = loaded[0]
        return (image.tags[0] if image.tags else image.id), image.id
    try:
        image = client.images.get(source)
    except docker.errors.ImageNotFound:
        try:
            image = client.images.pull(source)
        except docker.errors.APIError as exc:
            raise LaunchError(
                f"image {source!r} is neither a file nor on the Docker engine, and pulling it "
                f"failed: {exc.explanation}"
            ) from None
    except docker.errors.APIError as exc:
        raise LaunchError(f"cannot look up image {source!r}: {exc.explanation}") from None
    return source, image.id

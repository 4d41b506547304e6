"""Control groups for instance processes: memory, CPU and pids limits the kernel enforces.

rlimits bound one process's address space and CPU seconds; a cgroup bounds the real
memory and the CPU share of the process and all it starts. Both v1 (separate
``memory`` and ``cpu`` hierarchies) and v2 (one unified tree) are handled. Where the
machine does not allow it (not root, no delegation, read-only ``/sys/fs/cgroup``)
the runner goes on without, and records which limits were applied.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from runtara.runtime.runners.resources import Limits

ROOT = Path("/sys/fs/cgroup")
GROUP = "runtara"
CFS_PERIOD_US = 100_000


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
    except OSError:
        return False
    return True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class InstanceCgroup:
    """The cgroup directories of one launch (one per v1 controller, one on v2)."""

    dirs: list[Path]
    version: int
    applied: dict[str, object]

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def peak_memory_bytes(self) -> int | None:
        for d in self.dirs:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                value = _read_int(d / name)
                if value is not None:
                    return value
        return None

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return sorted(found)

    def remove(self) -> None:
        """Remove the directories (the kernel refuses while a process is still in them)."""
        for d in self.dirs:
            with contextlib.suppress(OSError):
                d.rmdir()


class Cgroups:
    """Creates a cgroup per launch, if and as far as this machine allows."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.version = 2 if (root / "cgroup.controllers").exists() else 1
        self.available = self._probe()

    def _base(self, controller: str) -> Path:
        if self.version == 2:
            return self.root / GROUP
        return self.root / controller / GROUP

    def _probe(self) -> dict[str, bool]:
        found = {}
        for controller in ("memory", "cpu", "pids"):
            base = self._base(controller)
            try:
                base.mkdir(exist_ok=True)
                if self.version == 2:
                    _write(self.root / "cgroup.subtree_control", f"+{controller}")
                    _write(base / "cgroup.subtree_control", f"+{controller}")
                found[controller] = os.access(base, os.W_OK)
            except OSError:
                found[controller] = False
        return found

    def create(self, name: str, limits: Limits) -> InstanceCgroup | None:
        """A cgroup named ``name`` with the limits it can enforce, or None if none."""
        dirs: list[Path] = []
        applied: dict[str, object] = {}
        wanted = {
            "memory": limits.memory_bytes is not None,
            "cpu": limits.cpus is not None,
            "pids": True,
        }
        for controller, needed in wanted.items():
            if not needed or not self.available.get(controller):
                continue
            path = self._base(controller) / name
            try:
                path.mkdir(exist_ok=True)
            except OSError:
                continue
            if path not in dirs:
                dirs.append(path)
            memory, cpus = limits.memory_bytes, limits.cpus
            if controller == "memory" and memory is not None and self._limit_memory(path, memory):
                applied["cgroup_memory_bytes"] = memory
            if controller == "cpu" and cpus is not None and self._limit_cpu(path, cpus):
                applied["cgroup_cpus"] = cpus
            if controller == "pids" and _write(path / "pids.max", str(limits.pids)):
                applied["cgroup_pids"] = limits.pids
        if not dirs:
            return None
        applied["cgroup_version"] = self.version
        return InstanceCgroup(dirs, self.version, applied)

    def _limit_memory(self, path: Path, size: int) -> bool:
        if self.version == 2:
            ok = _write(path / "memory.max", str(size))
            _write(path / "memory.swap.max", "0")
            return ok
        ok = _write(path / "memory.limit_in_bytes", str(size))
        # without swap accounting this file is absent; then swap is not bounded
        _write(path / "memory.memsw.limit_in_bytes", str(size))
        return ok

    def _limit_cpu(self, path: Path, cpus: float) -> bool:
        quota = max(1000, int(cpus * CFS_PERIOD_US))
        if self.version == 2:
            return _write(path / "cpu.max", f"{quota} {CFS_PERIOD_US}")
        return _write(path / "cpu.cfs_period_us", str(CFS_PERIOD_US)) and _write(
            path / "cpu.cfs_quota_us", str(quota)
        )

"""A container image with this machine's Python and ``runtara.sdk``, built without a registry.

There is no internet (no Docker Hub), so the test image is assembled here: the Python
interpreter, its standard library (no site-packages), the shared libraries ``ldd``
names, the image side of runtara (``sdk``, ``agents``) and the test programs go in a
tar that ``docker import`` turns into an image. Paths stay as on the host, so the interpreter finds its library as usual.
The tag is a hash of the inputs: built once, reused while nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import runtara

PROGRAMS = Path(__file__).parent / "programs"
SKIPPED = {"site-packages", "test", "idlelib", "tkinter", "ensurepip", "lib2to3", "turtledemo"}


def _libraries(binaries: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
        found.update(Path(m) for m in re.findall(r"(/\S+\.so[.\d]*)", out))
    return found


def _files() -> dict[str, Path]:
    """In-image path -> host file."""
    executable = Path(sys.executable).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = {str(executable): executable}
    dynload: list[Path] = []
    for root, dirs, names in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in SKIPPED]
        for name in names:
            path = Path(root) / name
            files[str(path)] = path
            if name.endswith(".so"):
                dynload.append(path)
    for lib in _libraries([executable, *dynload]):
        files[str(lib)] = lib.resolve()
    package = Path(runtara.__file__).parent
    files["/app/runtara/__init__.py"] = package / "__init__.py"
    for side in ("sdk", "agents"):  # the image side of runtara (standard library only)
        for path in (package / side).rglob("*.py"):
            files[f"/app/runtara/{path.relative_to(package)}"] = path
    for path in PROGRAMS.glob("*.py"):
        files[f"/app/{path.name}"] = path
    return files


def build_test_image() -> str:
    """The image tag (built when missing)."""
    import docker

    files = _files()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + files[name].read_bytes())
    tag = f"runtara-test-python:{digest.hexdigest()[:16]}"
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("tmp", "usr/local/bin"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        for name, path in sorted(files.items()):
            tar.add(path, arcname=name.lstrip("/"), recursive=False)
        link = tarfile.TarInfo("usr/local/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, str(Path(sys.executable).resolve())
        tar.addfile(link)
    subprocess.run(
        [
            "docker",
            "import",
            "--change",
            "ENV PYTHONPATH=/app",
            "--change",
            "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            "-",
            tag,
        ],
        input=buffer.getvalue(),
        check=True,
        capture_output=True,
    )
    _remove_stale(client, keep=tag)
    return tag


def _remove_stale(client: Any, keep: str, older_than_s: float = 1800) -> None:
    """Earlier builds (the SDK changed since) go, once no test run can still be using them."""
    import docker

    repository = keep.partition(":")[0]
    for image in client.images.list(name=repository):
        created = datetime.fromisoformat(image.attrs["Created"][:26].rstrip("Z") + "+00:00")
        if keep in image.tags or time.time() - created.timestamp() < older_than_s:
            continue
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=False)

"""The minimal root filesystem under a native binary: its shared libraries and little else.

What a ``FROM scratch`` image needs for a dynamically linked program: the libraries
``ldd`` resolves (the dynamic loader included) at the paths the loader looks in, a CA
bundle for TLS, ``/etc/passwd`` and ``/etc/group`` with a non-root user, a name-service
config, the C.UTF-8 locale and a world-writable ``/tmp``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from runtara.compiler.oci.layer import FileTree
from runtara.errors import Error

#: Where the CA bundle goes in the image (Debian's path; ``SSL_CERT_FILE`` points at it).
CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
#: Host locations tried, in order, for the CA bundle.
HOST_CA_BUNDLES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),
    Path("/etc/pki/tls/certs/ca-bundle.crt"),
    Path("/etc/ssl/cert.pem"),
)
#: The C.UTF-8 locale (400 kB): without it a container given ``LANG=C.UTF-8`` (the
#: image itself sets ``LANG=C``) makes the native runtime crash before any output.
C_UTF8_LOCALE = Path("/usr/lib/locale/C.utf8")
#: The user a container runs as: not root, with a home it can write.
USER_ID = 1000
USER_NAME = "runtara"
HOME = "/home/runtara"

_LDD_LINE = re.compile(r"^\s*(?:(?P<name>\S+)\s+=>\s+)?(?P<path>\S+)?\s*(?:\(0x[0-9a-f]+\))?$")


class RootfsError(Error):
    """The root filesystem cannot be assembled (a library not found, no ldd, no CA bundle)."""


def shared_libraries(
    elf_files: Iterable[Path], *, provided: Path | None = None, cache: Path | None = None
) -> list[Path]:
    """The absolute paths of the libraries the given ELF files load, loader included.

    Libraries found under ``provided`` (a standalone build ships its own) are left out;
    files that are not ELF, or not dynamically linked, are skipped. ``ldd`` runs once
    for all files not already in ``cache`` (a JSON file keyed by path, size and mtime):
    the runtime's 40 libraries cost half a second, and only the workflow changes.
    """
    files = [path for path in elf_files if _is_elf(path)]
    known = _read_cache(cache)
    keys = {path: _cache_key(path) for path in files}
    missing = [path for path in files if keys[path] not in known]
    if missing:
        known.update({keys[path]: libraries for path, libraries in _ldd(missing).items()})
        _write_cache(cache, {key: known[key] for key in keys.values()})
    provided_root = provided.resolve() if provided is not None else None
    found = {
        Path(library)
        for path in files
        for library in known[keys[path]]
        if provided_root is None or not Path(library).resolve().is_relative_to(provided_root)
    }
    return sorted(found)


def _ldd(files: list[Path]) -> dict[Path, list[str]]:
    ldd = shutil.which("ldd")
    if ldd is None:
        raise RootfsError("ldd not found: install libc-bin (it lists the libraries a binary needs)")
    # one file gets no "name:" header line from ldd; two always do
    listed = [*files, files[0]] if len(files) == 1 else files
    result = subprocess.run([ldd, *map(str, listed)], capture_output=True, text=True, check=False)
    libraries: dict[Path, list[str]] = {path: [] for path in files}
    current = Path()
    for line in result.stdout.splitlines():
        if not line.startswith(("\t", " ")):
            current = Path(line.rstrip(":"))
            continue
        if "=> not found" in line:
            library = line.split("=>")[0].strip()
            raise RootfsError(f"{current}: needs {library}, which ldd cannot find on this machine")
        match = _LDD_LINE.match(line)
        path = match.group("path") if match else None
        if path and path.startswith("/") and current in libraries:
            libraries[current].append(path)  # not linux-vdso.so.1: that lives in the kernel
    return libraries


def _cache_key(path: Path) -> str:
    info = path.stat()
    return f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}"


def _read_cache(cache: Path | None) -> dict[str, list[str]]:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache: Path | None, entries: dict[str, list[str]]) -> None:
    """Keep only the entries of this call: the cache follows the current runtime."""
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(entries, sort_keys=True))
    partial.replace(cache)


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def host_ca_bundle() -> Path:
    for candidate in HOST_CA_BUNDLES:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(path) for path in HOST_CA_BUNDLES)
    raise RootfsError(f"no CA certificate bundle found (tried {tried}); install ca-certificates")


def rootfs_tree(
    elf_files: Iterable[Path],
    *,
    provided: Path | None = None,
    ca_bundle: Path | None = None,
    ldd_cache: Path | None = None,
) -> FileTree:
    """The file tree of layer 1: what the given binaries need to run from scratch."""
    tree = FileTree()
    for library in shared_libraries(elf_files, provided=provided, cache=ldd_cache):
        tree.add_file(str(library), library, mode=0o755)
    tree.add_file(CA_BUNDLE_PATH, ca_bundle or host_ca_bundle(), mode=0o644)
    tree.add_file(
        "/etc/passwd",
        f"root:x:0:0:root:/root:/sbin/nologin\n"
        f"{USER_NAME}:x:{USER_ID}:{USER_ID}:{USER_NAME}:{HOME}:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n".encode(),
    )
    tree.add_file(
        "/etc/group",
        f"root:x:0:\n{USER_NAME}:x:{USER_ID}:\nnogroup:x:65534:\n".encode(),
    )
    tree.add_file("/etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files dns\n")
    if C_UTF8_LOCALE.is_dir():
        tree.add_tree(str(C_UTF8_LOCALE), C_UTF8_LOCALE)
    tree.add_dir("/tmp", mode=0o1777)
    tree.add_dir(HOME, mode=0o755, uid=USER_ID, gid=USER_ID)
    return tree

"""Image layers built from file trees, byte-for-byte reproducible.

A layer is a gzipped tar of a file tree. The same tree always gives the same bytes:
entries are sorted, every mtime is 0, owners are numeric (root unless a path says
otherwise), modes are normalised (0755 for executables and directories, 0644 otherwise)
and the gzip header carries neither a file name nor a time. That is what lets images
of different workflows share their first layers and a rebuild keep its digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

#: Compression level of layer blobs: 6 is gzip's default, a good size/speed balance.
GZIP_LEVEL = 6

EntryKind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class Entry:
    """One entry of a file tree: where it goes in the image and what it holds."""

    path: PurePosixPath
    kind: EntryKind
    mode: int
    uid: int = 0
    gid: int = 0
    source: Path | None = None
    data: bytes | None = None
    target: str = ""

    def size(self) -> int:
        if self.kind != "file":
            return 0
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.stat().st_size

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.source is not None
        return self.source.open("rb")


@dataclass
class FileTree:
    """The contents of one layer, addressed by absolute paths inside the image.

    Parent directories are added automatically (root-owned, 0755); a path added twice
    keeps the last entry, so a caller can override a default.
    """

    entries: dict[PurePosixPath, Entry] = field(default_factory=dict)

    def add_file(
        self,
        path: str,
        source: Path | bytes,
        *,
        mode: int | None = None,
        uid: int = 0,
        gid: int = 0,
    ) -> None:
        """Add a regular file from a host file (symlinks followed) or from bytes."""
        image_path = _image_path(path)
        if isinstance(source, bytes):
            self._add(Entry(image_path, "file", mode or 0o644, uid, gid, data=source))
            return
        resolved = source.resolve(strict=True)
        if not resolved.is_file():
            raise ValueError(f"{source}: not a regular file")
        if mode is None:
            executable = resolved.stat().st_mode & stat.S_IXUSR
            mode = 0o755 if executable else 0o644
        self._add(Entry(image_path, "file", mode, uid, gid, source=resolved))

    def add_dir(self, path: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self._add(Entry(_image_path(path), "dir", mode, uid, gid))

    def add_symlink(self, path: str, target: str) -> None:
        self._add(Entry(_image_path(path), "symlink", 0o777, target=target))

    def add_tree(self, path: str, source: Path, *, leave_out: Set[str] = frozenset()) -> None:
        """Add the contents of a host directory under ``path`` (symlinks kept as links),
        except its top-level entries named in ``leave_out``."""
        for root, dirs, files in os.walk(source):
            if Path(root) == source and leave_out:
                dirs[:] = [name for name in dirs if name not in leave_out]
                files = [name for name in files if name not in leave_out]
            dirs.sort()
            relative = Path(root).relative_to(source)
            base = PurePosixPath(path) / relative.as_posix()
            self.add_dir(str(base))
            for name in sorted(files + [d for d in dirs if (Path(root) / d).is_symlink()]):
                host = Path(root) / name
                if host.is_symlink():
                    self.add_symlink(str(base / name), os.readlink(host))
                else:
                    self.add_file(str(base / name), host)

    def _add(self, entry: Entry) -> None:
        for parent in reversed(entry.path.parents):
            if parent != PurePosixPath("/") and parent not in self.entries:
                self.entries[parent] = Entry(parent, "dir", 0o755)
        self.entries[entry.path] = entry

    def sorted_entries(self) -> list[Entry]:
        return [self.entries[path] for path in sorted(self.entries, key=lambda p: p.parts)]

    def fingerprint(self) -> str:
        """A cheap identity of the tree (host files by path, size and mtime, not content).

        Equal fingerprints mean an equal layer, so a cached blob can be reused without
        reading or compressing anything; any change to a source file changes it.
        """
        digest = hashlib.sha256()
        for entry in self.sorted_entries():
            fields = [str(entry.path), entry.kind, oct(entry.mode), str(entry.uid), str(entry.gid)]
            fields.append(entry.target)
            if entry.data is not None:
                fields.append(hashlib.sha256(entry.data).hexdigest())
            elif entry.source is not None:
                info = entry.source.stat()
                fields += [str(entry.source), str(info.st_size), str(info.st_mtime_ns)]
            digest.update("\0".join(fields).encode() + b"\n")
        return digest.hexdigest()


@dataclass(frozen=True)
class Layer:
    """A written layer blob: ``digest`` names the gzip blob, ``diff_id`` the bare tar."""

    path: Path
    digest: str
    diff_id: str
    size: int


def write_layer(tree: FileTree, directory: Path) -> Layer:
    """Write ``tree`` as a gzipped tar into ``directory``, named by its digest."""
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".layer-{os.getpid()}-{id(tree)}.partial"
    with partial.open("wb") as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0
        ) as gz:
            uncompressed = _HashingWriter(gz)
            with tarfile.open(fileobj=uncompressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for entry in tree.sorted_entries():
                    _add_entry(tar, entry)
    digest = "sha256:" + compressed.sha256.hexdigest()
    final = directory / digest.removeprefix("sha256:")
    partial.replace(final)
    return Layer(final, digest, "sha256:" + uncompressed.sha256.hexdigest(), compressed.size)


def write_layer_cached(tree: FileTree, directory: Path) -> Layer:
    """Like ``write_layer``, but reuse the blob of an identical tree written before.

    The runtime layers of every workflow image are the same; this turns their
    compression (seconds) into a lookup.
    """
    record = directory / f"{tree.fingerprint()}.layer.json"
    if record.is_file():
        known = json.loads(record.read_text())
        blob = directory / known["digest"].removeprefix("sha256:")
        if blob.is_file() and blob.stat().st_size == known["size"]:
            os.utime(record)  # most recently used: kept by prune_layer_cache
            return Layer(blob, known["digest"], known["diff_id"], known["size"])
    layer = write_layer(tree, directory)
    partial = record.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(
        json.dumps({"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size})
    )
    partial.replace(record)
    return layer


def prune_layer_cache(directory: Path, *, keep: int) -> None:
    """Keep the ``keep`` most recently used layers of a ``write_layer_cached`` directory
    (every workflow adds one) and the blobs they name; delete the rest."""
    records = sorted(
        directory.glob("*.layer.json"), key=lambda path: path.stat().st_mtime, reverse=True
    )
    for stale in records[keep:]:
        stale.unlink(missing_ok=True)
    wanted = set()
    for record in records[:keep]:
        try:
            wanted.add(json.loads(record.read_text())["digest"].removeprefix("sha256:"))
        except (OSError, ValueError, KeyError):
            continue
    for blob in directory.iterdir():
        if len(blob.name) == 64 and "." not in blob.name and blob.name not in wanted:
            blob.unlink(missing_ok=True)


def _add_entry(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.path.relative_to("/").as_posix())
    info.mtime = 0
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
        tar.addfile(info)
    else:
        info.size = entry.size()
        with entry.open() as content:
            tar.addfile(info, content)


def _image_path(path: str) -> PurePosixPath:
    image_path = PurePosixPath("/") / path
    if ".." in image_path.parts:
        raise ValueError(f"{path}: image paths must not contain '..'")
    return image_path


class _HashingWriter(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO | gzip.GzipFile) -> None:
        self._target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha256.update(data)
        self.size += len(data)
        self._target.write(data)
        return len(data)

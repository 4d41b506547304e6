"""OCI image archives: write an image-layout tar that ``docker load`` also accepts, read one back.

The archive holds the OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/*``)
plus a docker-archive ``manifest.json`` that points at the same blobs, because Docker
before 25 (the Debian 12 engine is 20.10) loads only the latter. Every JSON document is
serialised canonically and every tar header is fixed, so equal inputs give equal bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runtara.compiler.oci.layer import Layer
from runtara.errors import Error

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

#: The creation time recorded in configs: fixed, so that rebuilds keep their digest.
EPOCH = "1970-01-01T00:00:00Z"


class ImageFormatError(Error):
    """An archive or directory that is not a readable OCI image."""


@dataclass(frozen=True)
class ImageConfig:
    """What a container of the image runs, and the labels that describe it."""

    entrypoint: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    working_dir: str = "/"
    labels: dict[str, str] = field(default_factory=dict)
    architecture: str = "amd64"
    os: str = "linux"

    def to_json(self, diff_ids: Sequence[str], history: Sequence[str]) -> dict[str, Any]:
        config: dict[str, Any] = {
            "Entrypoint": list(self.entrypoint),
            "Env": [f"{key}={value}" for key, value in sorted(self.env.items())],
            "WorkingDir": self.working_dir,
            "Labels": dict(sorted(self.labels.items())),
        }
        if self.user:
            config["User"] = self.user
        return {
            "architecture": self.architecture,
            "os": self.os,
            "created": EPOCH,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": [{"created": EPOCH, "created_by": step} for step in history],
        }


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class WrittenImage:
    """The digests that identify a written image."""

    path: Path
    manifest_digest: str
    config_digest: str
    layers: tuple[Descriptor, ...]

    @property
    def size(self) -> int:
        """Compressed size: what a registry stores and a pull transfers."""
        return sum(layer.size for layer in self.layers)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_image_archive(
    destination: Path,
    layers: Sequence[Layer],
    config: ImageConfig,
    *,
    history: Sequence[str] = (),
    ref_name: str | None = None,
) -> WrittenImage:
    """Write the image as one tar; ``ref_name`` (``name:tag``) is what ``docker load`` tags."""
    history = list(history) or [f"layer {n}" for n in range(1, len(layers) + 1)]
    config_blob = canonical_json(config.to_json([layer.diff_id for layer in layers], history))
    config_descriptor = Descriptor(CONFIG_MEDIA_TYPE, sha256_digest(config_blob), len(config_blob))
    layer_descriptors = tuple(
        Descriptor(LAYER_MEDIA_TYPE, layer.digest, layer.size) for layer in layers
    )
    manifest_blob = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": config_descriptor.to_json(),
            "layers": [descriptor.to_json() for descriptor in layer_descriptors],
        }
    )
    manifest_digest = sha256_digest(manifest_blob)
    manifest_entry = Descriptor(MANIFEST_MEDIA_TYPE, manifest_digest, len(manifest_blob)).to_json()
    if ref_name:
        manifest_entry["annotations"] = {REF_NAME_ANNOTATION: ref_name}
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [manifest_entry]}
    docker_manifest = [
        {
            "Config": _blob_path(config_descriptor.digest),
            "RepoTags": [ref_name] if ref_name else None,
            "Layers": [_blob_path(layer.digest) for layer in layers],
        }
    ]

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(tar, "index.json", canonical_json(index))
        _add_bytes(tar, "manifest.json", canonical_json(docker_manifest))
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        blobs: dict[str, Path | bytes] = {
            config_descriptor.digest: config_blob,
            manifest_digest: manifest_blob,
        }
        blobs.update({layer.digest: layer.path for layer in layers})
        for digest in sorted(blobs):
            content = blobs[digest]
            if isinstance(content, bytes):
                _add_bytes(tar, _blob_path(digest), content)
            else:
                with content.open("rb") as handle:
                    _add_stream(tar, _blob_path(digest), handle, content.stat().st_size)
    partial.replace(destination)
    return WrittenImage(destination, manifest_digest, config_descriptor.digest, layer_descriptors)


def _blob_path(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


def _header(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = _header(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    _add_stream(tar, name, io.BytesIO(data), len(data))


def _add_stream(tar: tarfile.TarFile, name: str, stream: IO[bytes], size: int) -> None:
    info = _header(name)
    info.size = size
    tar.addfile(info, stream)


class OciImage:
    """An OCI image read from an image-layout tar or directory (what ``runtara push`` sends)."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._tar: tarfile.TarFile | None = None
        if source.is_dir():
            if not (source / "index.json").is_file():
                raise ImageFormatError(f"{source}: no index.json (not an OCI image layout)")
        else:
            try:
                self._tar = tarfile.open(source, "r:*")  # noqa: SIM115 (closed by close())
            except (OSError, tarfile.TarError) as exc:
                raise ImageFormatError(f"{source}: not a readable tar archive ({exc})") from exc
        index = self._json("index.json")
        manifests = index.get("manifests") or []
        if len(manifests) != 1:
            raise ImageFormatError(
                f"{source}: index.json lists {len(manifests)} manifests; expected exactly one"
            )
        self.manifest_descriptor = Descriptor(
            manifests[0].get("mediaType", MANIFEST_MEDIA_TYPE),
            manifests[0]["digest"],
            manifests[0]["size"],
        )
        self.ref_name: str | None = (manifests[0].get("annotations") or {}).get(REF_NAME_ANNOTATION)
        self.manifest_bytes = self.read_blob(self.manifest_descriptor.digest)
        if sha256_digest(self.manifest_bytes) != self.manifest_descriptor.digest:
            raise ImageFormatError(f"{source}: manifest does not match its digest")
        self.manifest: dict[str, Any] = json.loads(self.manifest_bytes)

    def __enter__(self) -> OciImage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    @property
    def blobs(self) -> list[Descriptor]:
        """Config first, then layers: the order in which a push uploads them."""
        items = [self.manifest["config"], *self.manifest["layers"]]
        return [Descriptor(item["mediaType"], item["digest"], item["size"]) for item in items]

    @property
    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.read_blob(self.manifest["config"]["digest"]))
        return data

    def read_blob(self, digest: str) -> bytes:
        with self.open_blob(digest) as handle:
            return handle.read()

    @contextmanager
    def open_blob(self, digest: str) -> Iterator[IO[bytes]]:
        name = _blob_path(digest)
        if self._tar is None:
            path = self.source / name
            if not path.is_file():
                raise ImageFormatError(f"{self.source}: missing blob {digest}")
            with path.open("rb") as handle:
                yield handle
            return
        try:
            member = self._tar.extractfile(name)
        except KeyError:
            member = None
        if member is None:
            raise ImageFormatError(f"{self.source}: missing blob {digest}")
        with member:
            yield member

    def _json(self, name: str) -> dict[str, Any]:
        try:
            if self._tar is None:
                text = (self.source / name).read_bytes()
            else:
                member = self._tar.extractfile(name)
                if member is None:
                    raise KeyError(name)
                text = member.read()
            data: dict[str, Any] = json.loads(text)
            return data
        except (KeyError, FileNotFoundError) as exc:
            raise ImageFormatError(f"{self.source}: no {name} (not an OCI image)") from exc
        except ValueError as exc:
            raise ImageFormatError(f"{self.source}: {name} is not valid JSON ({exc})") from exc

"""The OCI image of a compiled workflow, written without a daemon.

Three layers, from most to least shared:

1. a minimal root filesystem: the shared libraries the runtime needs, CA certificates,
   a non-root user, ``/tmp``;
2. the compiled runtime (the launcher and everything it ships), the same for every
   workflow built by the same runtara, Python and Nuitka;
3. the workflow itself.

A workflow that loads paramiko (the sftp agent) has one more layer before its own: the
extension modules paramiko needs (cryptography, bcrypt, PyNaCl), shared by every such
image and absent from the others. Images of different workflows therefore differ only
in their last layer, and the same
inputs give the same digest (see ``runtara.compiler.oci.layer``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtara import __version__
from runtara.compiler.oci.layer import FileTree, Layer, prune_layer_cache, write_layer_cached
from runtara.compiler.oci.layout import ImageConfig, WrittenImage, write_image_archive
from runtara.compiler.oci.rootfs import CA_BUNDLE_PATH, HOME, USER_ID, rootfs_tree
from runtara.compiler.progress import Count, Progress
from runtara.dsl import MEMORY_TIER_BYTES

#: Where the runtime and the workflow live inside the image.
APP_DIR = "/opt/runtara"

#: Layers kept in the layer cache: the shared ones and the latest workflows'.
KEEP_LAYERS = 100

LABEL_WORKFLOW_NAME = "dev.runtara.workflow.name"
LABEL_WORKFLOW_VERSION = "dev.runtara.workflow.version"
LABEL_RUNTARA_VERSION = "dev.runtara.version"
LABEL_INPUT_SCHEMA_DIGEST = "dev.runtara.input-schema.digest"
LABEL_MEMORY_TIER = "dev.runtara.memory-tier"

#: Memory tiers of DSL.md and the limit each sets, in bytes (the DSL's one table).
MEMORY_TIERS = MEMORY_TIER_BYTES

#: The environment of every workflow container. ``LANG=C``: the image ships no locale
#: files, and a UTF-8 locale that is missing makes the native runtime abort silently.
BASE_ENV = {
    "LANG": "C",
    "SSL_CERT_FILE": CA_BUNDLE_PATH,
    "PATH": f"{APP_DIR}:/usr/local/bin:/usr/bin:/bin",
}


@dataclass(frozen=True)
class WorkflowMetadata:
    """What the image's labels say about the workflow inside."""

    name: str
    version: str
    input_schema_digest: str
    memory_tier: str = "XL"

    def __post_init__(self) -> None:
        if self.memory_tier not in MEMORY_TIERS:
            tiers = ", ".join(MEMORY_TIERS)
            raise ValueError(f"memory tier {self.memory_tier!r} is not one of {tiers}")

    def labels(self) -> dict[str, str]:
        return {
            LABEL_WORKFLOW_NAME: self.name,
            LABEL_WORKFLOW_VERSION: self.version,
            LABEL_RUNTARA_VERSION: __version__,
            LABEL_INPUT_SCHEMA_DIGEST: self.input_schema_digest,
            LABEL_MEMORY_TIER: self.memory_tier,
            "org.opencontainers.image.title": self.name,
            "org.opencontainers.image.version": self.version,
        }


def input_schema_digest(schema: Mapping[str, Any] | None) -> str:
    """The digest of a workflow's input schema (canonical JSON), so a runner can tell
    whether two images accept the same input."""
    canonical = json.dumps(schema or {}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def build_image(
    destination: Path,
    *,
    runtime_dir: Path,
    entrypoint: str,
    workflow_files: Sequence[Path],
    metadata: WorkflowMetadata,
    layer_cache: Path,
    ref_name: str | None = None,
    ca_bundle: Path | None = None,
    progress: Progress | None = None,
    optional: Sequence[str] = (),
    carried: Sequence[str] = (),
) -> WrittenImage:
    """Write the image of one workflow to ``destination`` (an OCI archive tar).

    ``runtime_dir`` is copied to ``APP_DIR`` (layer 2) and ``entrypoint`` names the
    program in it that a container runs; ``workflow_files`` go beside it (the last
    layer). ``optional`` top-level entries of ``runtime_dir`` are left out of layer 2;
    those of them in ``carried`` get a layer of their own before the workflow's, so
    layer 2 is the same whichever a workflow carries. The root filesystem covers what
    all of ``runtime_dir`` needs, for the same reason. Layer blobs are kept in
    ``layer_cache`` so the shared layers are compressed once. ``progress`` hears of
    each layer written (``Count`` of layers).
    """
    if not (runtime_dir / entrypoint).is_file():
        raise FileNotFoundError(f"{runtime_dir / entrypoint}: entrypoint not found")
    runtime_files = sorted(path for path in runtime_dir.rglob("*") if path.is_file())
    base = rootfs_tree(
        [*runtime_files, *workflow_files],
        provided=runtime_dir,
        ca_bundle=ca_bundle,
        ldd_cache=layer_cache / "ldd.json",
    )
    runtime = FileTree()
    runtime.add_tree(APP_DIR, runtime_dir, leave_out=set(optional))
    trees = [base, runtime]
    history = ["runtara: root filesystem", "runtara: runtime"]
    extras = [name for name in optional if name in carried]
    if extras:
        extra = FileTree()
        for name in extras:
            if (runtime_dir / name).is_dir():
                extra.add_tree(f"{APP_DIR}/{name}", runtime_dir / name)
            else:
                extra.add_file(f"{APP_DIR}/{name}", runtime_dir / name)
        trees.append(extra)
        history.append(f"runtara: runtime extensions ({', '.join(extras)})")
    workflow = FileTree()
    for path in workflow_files:
        workflow.add_file(f"{APP_DIR}/{path.name}", path)
    trees.append(workflow)
    history.append(f"runtara: workflow {metadata.name}")

    layers: list[Layer] = []
    for tree in trees:
        if progress:
            progress(Count(len(layers), len(trees), "layers"))
        layers.append(write_layer_cached(tree, layer_cache))
        if progress:
            progress(Count(len(layers), len(trees), "layers"))
    prune_layer_cache(layer_cache, keep=KEEP_LAYERS)
    config = ImageConfig(
        entrypoint=[f"{APP_DIR}/{entrypoint}"],
        env=BASE_ENV,
        user=f"{USER_ID}:{USER_ID}",
        working_dir=HOME,
        labels=metadata.labels(),
    )
    return write_image_archive(destination, layers, config, history=history, ref_name=ref_name)

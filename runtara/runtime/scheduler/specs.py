"""From an image and an instance to a launch: program, environment, limits, labels.

Images come in three kinds (``metadata["kind"]``):

* ``command``: a program and its arguments (``--command``), run as given;
* ``workflow``: a JSON workflow; its generated Python module is stored with the image
  at registration and run with this server's Python, like ``runtara run`` does;
* ``oci``: a container image (``--oci``), run by the docker runner with its entry point.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from runtara.runtime.runners.base import LaunchError, LaunchSpec
from runtara.runtime.runners.environment import MAX_ENV_INPUT_BYTES
from runtara.runtime.runners.resources import Limits
from runtara.runtime.runners.tiers import ALLOCATOR_ENVIRONMENT
from runtara.runtime.store.images import Image

LABEL_PREFIX = "dev.runtara"


def workflow_module(data_dir: Path, source: str) -> Path:
    """The generated module on disk, written once per content."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    path = data_dir / "workflows" / f"workflow_{digest}.py"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(source, encoding="utf-8")
        partial.replace(path)
    return path


def instance_environment(
    base: dict[str, str],
    *,
    url: str,
    tenant_id: str,
    instance_id: str,
    token: str,
    input: Any,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {**base, **(extra or {})}
    env.update(
        {
            "RUNTARA_URL": url,
            "RUNTARA_INSTANCE_ID": instance_id,
            "RUNTARA_TENANT_ID": tenant_id,
            "RUNTARA_INSTANCE_TOKEN": token,
            "PYTHONUNBUFFERED": "1",
            **ALLOCATOR_ENVIRONMENT,
        }
    )
    encoded = json.dumps(input, separators=(",", ":"))
    if len(encoded) <= MAX_ENV_INPUT_BYTES:
        env["RUNTARA_INPUT"] = encoded
    return env


def launch_spec(
    image: Image,
    *,
    tenant_id: str,
    instance_id: str,
    environment: dict[str, str],
    data_dir: Path,
    server_id: str,
) -> LaunchSpec:
    meta = image.metadata
    kind = meta.get("kind")
    limits = Limits.from_dict(meta.get("limits"))
    labels = {
        f"{LABEL_PREFIX}.tenant": tenant_id,
        f"{LABEL_PREFIX}.instance": instance_id,
        f"{LABEL_PREFIX}.image": image.label,
        f"{LABEL_PREFIX}.server": server_id,
    }
    common: dict[str, Any] = {
        "tenant_id": tenant_id,
        "instance_id": instance_id,
        "environment": environment,
        "limits": limits,
        "labels": labels,
    }
    if kind == "command":
        return LaunchSpec(
            argv=list(meta["argv"]),
            image=meta.get("base_image"),
            workdir=meta.get("workdir"),
            **common,
        )
    if kind == "workflow":
        module = workflow_module(data_dir, meta["module"])
        return LaunchSpec(argv=[sys.executable, str(module)], **common)
    if kind == "oci":
        return LaunchSpec(argv=None, image=image.reference, **common)
    raise LaunchError(f"image {image.label} has an unknown kind {kind!r}")

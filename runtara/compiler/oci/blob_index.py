"""Which repositories of a registry are known to hold a blob: the hint behind blob mounts.

A registry can link a blob it already stores into another repository (a cross-repository
mount) instead of receiving it again, but only if the client names a repository that
has it. Every push records where its blobs went; a later push to another repository of
the same registry tries those first. A lost or stale hint only costs an upload.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class BlobIndex:
    def __init__(self, path: Path) -> None:
        self.path = path

    def repositories(self, registry: str, digest: str) -> list[str]:
        return list(self._load().get(registry, {}).get(digest, []))

    def record(self, registry: str, digest: str, repository: str) -> None:
        data = self._load()
        repositories = data.setdefault(registry, {}).setdefault(digest, [])
        if repository in repositories:
            return
        repositories.append(repository)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(data, indent=1, sort_keys=True))
        partial.replace(self.path)

    def _load(self) -> dict[str, dict[str, list[str]]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

"""Registry credentials from Docker's ``config.json`` (what ``docker login`` wrote)."""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from runtara.compiler.oci.reference import DOCKER_HUB

_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password
        return f"Credentials(username={self.username!r}, password='***')"


def docker_config_path() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def docker_config_credentials(registry: str, path: Path | None = None) -> Credentials | None:
    """The credentials stored for ``registry`` under ``auths``, if any.

    Entries are matched by host, with or without a scheme (``https://host:5000``); an
    unreadable file is treated as absent. Credential helpers (``credsStore``) are not
    consulted.
    """
    path = path or docker_config_path()
    try:
        auths = json.loads(path.read_text()).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return None
    wanted = {registry} | (set(_DOCKER_HUB_KEYS) if registry == DOCKER_HUB else set())
    for key, entry in auths.items():
        host = key.split("://", 1)[-1].rstrip("/")
        if (key in wanted or host in wanted) and isinstance(entry, dict):
            credentials = _decode(entry)
            if credentials is not None:
                return credentials
    return None


def _decode(entry: dict[str, object]) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            username, colon, password = (
                base64.b64decode(encoded, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(username, password) if colon else None
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None

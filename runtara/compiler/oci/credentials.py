"""Registry credentials from Docker's ``config.json`` (what ``docker login`` wrote).

Looked up as Docker does: a per-registry credential helper (``credHelpers``), else the
default credential store (``credsStore``), else the inline ``auths`` entry. Helpers are
the ``docker-credential-*`` programs; the docker SDK's ``docker.credentials.Store``
speaks their protocol, so it is used rather than a second implementation.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtara.compiler.oci.reference import DOCKER_HUB
from runtara.errors import Error

_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")
#: What a credential helper answers as the user name when its secret is an OAuth2
#: refresh token (an "identity token"), not a password.
_TOKEN_USERNAME = "<token>"


class CredentialHelperError(Error):
    """A configured ``docker-credential-*`` helper is missing or failed."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    #: An OAuth2 refresh token to exchange at the registry's token server instead of
    #: sending a user name and password (what ``docker login`` stores for some registries).
    identity_token: str | None = None

    def __repr__(self) -> str:  # never print a password or a token
        return f"Credentials(username={self.username!r}, password='***')"


def docker_config_path() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def docker_config_credentials(registry: str, path: Path | None = None) -> Credentials | None:
    """The credentials Docker would use for ``registry``, if any.

    ``credHelpers[registry]``, else ``credsStore``, else ``auths`` (entries matched by
    host, with or without a scheme such as ``https://host:5000``). An unreadable file is
    treated as absent; a configured helper that is missing or fails raises
    ``CredentialHelperError`` naming it (Docker fails the same way).
    """
    path = path or docker_config_path()
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    helpers = config.get("credHelpers")
    helper = helpers.get(registry) if isinstance(helpers, dict) else None
    store = config.get("credsStore")
    for program in (helper, store):
        if isinstance(program, str) and program:
            found = _from_helper(program, _helper_server(registry))
            if found is not None or program == helper:
                return found
    return _from_auths(config.get("auths"), registry)


def _helper_server(registry: str) -> str:
    return "https://index.docker.io/v1/" if registry == DOCKER_HUB else registry


def _from_helper(program: str, server: str) -> Credentials | None:
    from docker.credentials import CredentialsNotFound, Store, StoreError

    with warnings.catch_warnings():  # a missing helper is reported below, once
        warnings.simplefilter("ignore")
        store = Store(program)
    try:
        data: Any = store.get(server)
    except CredentialsNotFound:
        return None
    except StoreError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CredentialHelperError(
            f"credential helper docker-credential-{program} (from {docker_config_path()}) "
            f"failed for {server}: {message}"
        ) from None
    if not isinstance(data, dict):
        return None
    username, secret = data.get("Username"), data.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str):
        return None
    if username == _TOKEN_USERNAME:
        return Credentials(username, "", identity_token=secret)
    return Credentials(username, secret)


def _from_auths(auths: object, registry: str) -> Credentials | None:
    if not isinstance(auths, dict):
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
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(_TOKEN_USERNAME, "", identity_token=token)
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

"""Encryption at rest for connection secrets (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``RUNTARA_SECRET_KEY``: either a Fernet key (32 url-safe base64
bytes) or any passphrase, from which a key is derived with SHA-256. Without a key,
storing or reading a connection is refused rather than done in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

from runtara.runtime.errors import NotConfigured


def _fernet_key(material: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(material.encode())
        if len(raw) == 32:
            return material.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


class SecretBox:
    """Seals and opens JSON documents; ``None`` key means secrets cannot be stored."""

    def __init__(self, key: str | None) -> None:
        self._key = _fernet_key(key) if key else None
        self._fernet: Fernet | None = None

    def _require(self) -> Fernet:
        """The cipher, made on first use (``cryptography`` costs 0.1 s to import, and most
        commands that open a store never touch a connection)."""
        if self._fernet is None and self._key is not None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._key)
        if self._fernet is None:
            raise NotConfigured(
                "connections need an encryption key: set RUNTARA_SECRET_KEY "
                "(or run the server with --dev, which keeps one under .data/)"
            )
        return self._fernet

    def seal(self, document: Any) -> bytes:
        return self._require().encrypt(json.dumps(document, separators=(",", ":")).encode())

    def open(self, sealed: bytes) -> Any:
        from cryptography.fernet import InvalidToken

        try:
            return json.loads(self._require().decrypt(bytes(sealed)))
        except InvalidToken:
            raise NotConfigured(
                "a stored connection cannot be decrypted: RUNTARA_SECRET_KEY differs from the "
                "key it was stored with"
            ) from None


def dev_secret_key(folder: Path) -> str:
    """A key kept in ``folder/secret.key`` (created 0600), for ``--dev`` and embedded use."""
    path = folder / "secret.key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()  # what Fernet.generate_key() makes
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def new_token() -> str:
    """A random bearer secret (instance token, API key body)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are random 256-bit secrets, so a plain SHA-256 is a sufficient one-way hash."""
    return hashlib.sha256(token.encode()).hexdigest()

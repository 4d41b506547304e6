"""Webhook signatures: ``X-Runtara-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

The HMAC is computed over the bytes exactly as received (before any JSON parsing) and
compared in constant time, so neither re-serialisation nor timing gives anything away.
"""

from __future__ import annotations

import hashlib
import hmac

from runtara.runtime.errors import Unauthorized

HEADER = "X-Runtara-Signature"
PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value a sender computes: ``sha256=`` and 64 lowercase hex digits."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> None:
    """Accept the delivery, or raise 401 saying what is missing (never what was expected)."""
    if not header:
        raise Unauthorized(f"this hook requires a signature: {HEADER}: {PREFIX}<hex HMAC-SHA256>")
    given = header.strip()
    if not given.lower().startswith(PREFIX):
        raise Unauthorized(f"{HEADER} must be '{PREFIX}<hex HMAC-SHA256 of the body>'")
    expected = sign(secret, body)
    candidate = PREFIX + given[len(PREFIX) :].lower()
    if not hmac.compare_digest(candidate.encode(), expected.encode()):
        raise Unauthorized(f"{HEADER} does not match the body (wrong secret, or the body changed)")

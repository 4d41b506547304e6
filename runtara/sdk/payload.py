"""Bytes inside JSON: outputs, errors, checkpoint states and signal payloads may be
``bytes`` as well as JSON values, and read back as what was given.

JSON has no bytes, so ``bytes`` travel as ``{"$bytes": "<base64>"}`` (anywhere in the
value, nested too); ``decode`` turns every such object back into ``bytes``. The
management client (``runtara.client``) and the instance SDK both use this module, so
``rt.completed(b"done")`` reads back as ``b"done"`` from ``Client.get_instance``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

BYTES_KEY = "$bytes"


def encode(value: Any) -> Any:
    """``value`` as plain JSON: every bytes-like part becomes a ``{"$bytes": ...}``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {BYTES_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of ``encode``: ``{"$bytes": "<base64>"}`` objects become bytes."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(BYTES_KEY), str):
            try:
                return base64.b64decode(value[BYTES_KEY], validate=True)
            except (binascii.Error, ValueError):
                return value  # not ours: a user's object that happens to use the key
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value

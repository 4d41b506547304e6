"""File values: how binary content travels through JSON workflows.

A capability that takes a file accepts raw ``bytes``, a JSON array of byte values
(Runtara's ``Vec<u8>``), a base64 string, or a file value
``{"content": <base64>, "filename"?: str, "mimeType"?: str}``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Mapping
from typing import Any

from runtara.agents.errors import InputError, PermanentError

#: What a step may read into memory at once (an http response, an sftp download).
#: The default's base64 fits the runtime's default 16 MiB checkpoint with room to
#: spare (every step's output is checkpointed); no step may ask for more than the max.
DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024
MAX_READ_BYTES = 64 * 1024 * 1024


def read_ceiling(value: int, field: str) -> int:
    """``value`` within (0, :data:`MAX_READ_BYTES`]; InputError naming ``field`` if not."""
    if value <= 0:
        raise InputError(f"{field} must be positive", field=field)
    if value > MAX_READ_BYTES:
        raise InputError(
            f"{field} {value} is above the ceiling of {MAX_READ_BYTES} bytes (64 MiB): a step "
            "holds what it reads in memory and checkpoints it; read large files in parts",
            field=field,
        )
    return value


def to_bytes(value: Any, *, field: str = "data") -> bytes:
    """Decode any accepted file form to bytes; bad input raises InputError naming ``field``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return decode_base64(value, field=field)
    if isinstance(value, Mapping):
        content = value.get("content")
        if not isinstance(content, str):
            raise InputError(f"{field}: a file value needs a base64 'content' string", field=field)
        return decode_base64(content, field=f"{field}.content")
    if isinstance(value, list):
        if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value):
            raise InputError(f"{field}: a byte array may hold only integers 0-255", field=field)
        return bytes(value)
    raise InputError(
        f"{field}: expected bytes, a base64 string or a file value, got {type_name(value)}",
        field=field,
    )


def decode_base64(text: str, *, field: str) -> bytes:
    """Strict base64 (standard or URL-safe alphabet; whitespace ignored)."""
    compact = "".join(text.split())
    alphabet_fixed = compact.replace("-", "+").replace("_", "/")
    padded = alphabet_fixed + "=" * (-len(alphabet_fixed) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        hint = (
            " (a string is read as base64: pass text through text:to-base64, or give a "
            "file value or byte array)"
            if text.lstrip()[:1] in ("<", "{", "[") or "," in text
            else ""
        )
        raise InputError(f"{field} is not valid base64{hint}", field=field) from None


def decode_text(raw: bytes, encoding: str, *, field: str = "encoding") -> str:
    """Decode bytes with a named encoding; unknown names and bad bytes are clear errors."""
    name = encoding.strip() or "utf-8"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", field=field) from None
    try:
        text = raw.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise PermanentError(
            f"content is not valid {codec.name} (byte {exc.start})", code="DECODE_ERROR"
        ) from None
    return text.removeprefix("\ufeff") if codec.name == "utf-8" else text


def encode_text(text: str, encoding: str, *, field: str = "encoding") -> bytes:
    try:
        codec = codecs.lookup(encoding.strip() or "utf-8")
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", field=field) from None
    try:
        return text.encode(codec.name)
    except UnicodeEncodeError as exc:
        raise PermanentError(
            f"character {exc.object[exc.start]!r} cannot be encoded as {codec.name}",
            code="ENCODE_ERROR",
        ) from None


def file_value(
    raw: bytes, *, filename: str | None = None, mime_type: str | None = None
) -> dict[str, Any]:
    """Wrap bytes as a file value."""
    result: dict[str, Any] = {"content": base64.b64encode(raw).decode("ascii")}
    if filename is not None:
        result["filename"] = filename
    if mime_type is not None:
        result["mimeType"] = mime_type
    return result


def type_name(value: Any) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__

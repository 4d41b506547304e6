"""Keep connection secrets out of outputs, errors, events and logs.

``redact(value, connection)`` returns a copy of any JSON-like value in which
  * values under secret-looking keys (token, password, api_key, authorization, ...) and
  * every occurrence of a secret parameter of ``connection`` inside any string
are replaced by ``***``. The runtime and generated code call it before writing events,
logs or error messages; the agents call it on their own error messages.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

from runtara.agents.framework import registered_connection_types

MASK = "***"

#: Normalised key names (lower case, letters and digits only) that hold credentials...
SECRET_KEYS = frozenset(
    {"authorization", "proxyauthorization", "pwd", "secret", "credentials", "cookie", "setcookie"}
)
#: ...and endings that do: ``access_token``, ``X-Api-Key``, ``db_password``, ``client_secret``.
SECRET_KEY_SUFFIXES = (
    "token",
    "password",
    "passwd",
    "secret",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "passphrase",
)
#: Payload keys masked whole: the connection handed to a secure agent.
CONNECTION_KEYS = frozenset({"_connection", "connection"})

#: Secrets shorter than this are not searched for inside strings (too many false hits).
MIN_SECRET_LENGTH = 4


def is_secret_key(key: str) -> bool:
    """Whether a value stored under ``key`` is a credential (``token``, ``X-Api-Key``...).

    The validator's E043 (secret literals in a document) uses the same rule.
    """
    normalized = _normalize(key)
    return normalized in SECRET_KEYS or normalized.endswith(SECRET_KEY_SUFFIXES)


def _normalize(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def secret_values(connection: Mapping[str, Any] | None) -> frozenset[str]:
    """Strings that must never be shown: the connection's secret parameters and derivations."""
    if not isinstance(connection, Mapping):
        return frozenset()
    params = connection.get("parameters")
    if not isinstance(params, Mapping):
        return frozenset()
    declared = _declared_secrets(
        connection.get("integration_id") or connection.get("integrationId")
    )
    found: set[str] = set()
    for key, value in params.items():
        secret = key in declared or is_secret_key(str(key))
        if secret and isinstance(value, str) and value:
            found.add(value)
            found.update(line.strip() for line in value.splitlines() if len(line.strip()) > 16)
    username, password = params.get("username"), params.get("password")
    if isinstance(username, str) and isinstance(password, str) and password:
        found.add(base64.b64encode(f"{username}:{password}".encode()).decode("ascii"))
    return frozenset(s for s in found if len(s) >= MIN_SECRET_LENGTH)


def _declared_secrets(integration_id: Any) -> tuple[str, ...]:
    """Parameters the connection type marks ``secret`` (e.g. of an installed agent)."""
    spec = (
        registered_connection_types().get(integration_id)
        if isinstance(integration_id, str)
        else None
    )
    return spec.secret_parameters if spec is not None else ()


def redact(
    value: Any,
    connection: Mapping[str, Any] | None = None,
    *,
    extra: Iterable[str] = (),
    mask_keys: bool = True,
) -> Any:
    """A copy of ``value`` with secrets masked (see the module docstring).

    With ``mask_keys=False`` only the connection's secret values are masked, which is what
    a capability's *output* needs: an API may legitimately return a field named ``token``.
    """
    secrets = sorted(secret_values(connection) | set(extra), key=len, reverse=True)
    if not secrets and not mask_keys:
        return value
    return _redact(value, secrets, mask_keys)


def redact_text(text: str, connection: Mapping[str, Any] | None = None) -> str:
    result = redact(text, connection)
    return result if isinstance(result, str) else text


def _redact(value: Any, secrets: list[str], mask_keys: bool = True) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {
            key: MASK
            if mask_keys and isinstance(key, str) and _masked_key(key) and item not in (None, "")
            else _redact(item, secrets, mask_keys)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item, secrets, mask_keys) for item in value]
    return value


def _masked_key(key: str) -> bool:
    return key in CONNECTION_KEYS or is_secret_key(key)

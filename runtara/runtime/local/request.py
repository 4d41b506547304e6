"""What ``runtara run`` was asked to do, read from its arguments and checked.

Every argument is checked here, before codegen or the runtime start, so a mistake is
one line naming the option (``--input @FILE: invalid JSON at 3:7: ...``).
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtara.arguments import ArgumentError, json_argument
from runtara.errors import Error

DEFAULT_TENANT = "default"
#: The API's rule for instance ids (``runtara.runtime.api.starts.ID_PATTERN``), checked
#: here before the runtime is even imported; an id also names a directory under .data/.
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}")


class RunError(Error):
    """Something ``runtara run`` was given cannot be used (named in the message)."""


@dataclass(frozen=True)
class RunRequest:
    workflow: Path
    input: Any = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: str | None = None
    instance_id: str = ""
    children: list[Path] = field(default_factory=list)
    tenant: str = DEFAULT_TENANT

    @classmethod
    def from_cli(
        cls,
        workflow: Path,
        *,
        input_text: str | None,
        connections: list[str],
        server: str | None,
        instance_id: str | None,
        children: list[Path],
    ) -> RunRequest:
        return cls(
            workflow=workflow,
            input={} if input_text is None else _json_argument(input_text, "--input"),
            connections=dict(_connection_argument(item) for item in connections),
            server=None if server is None else _server_url(server),
            instance_id=_instance_id(instance_id, "--id"),
            children=children,
            tenant=_instance_id(
                os.environ.get("RUNTARA_TENANT") or DEFAULT_TENANT, "RUNTARA_TENANT"
            ),
        )


def _json_argument(text: str, option: str) -> Any:
    try:
        return json_argument(text, option)
    except ArgumentError as exc:
        raise RunError(str(exc)) from None


def _connection_argument(item: str) -> tuple[str, dict[str, Any]]:
    connection_id, sep, value = item.partition("=")
    if not sep or not connection_id or not value.startswith("@"):
        raise RunError(f"--connection {item!r}: expected ID=@FILE.json")
    body = _json_argument(value, f"--connection {connection_id}")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("integrationId"), str)
        or not isinstance(body.get("parameters"), dict)
    ):
        raise RunError(
            f'--connection {connection_id}: the file must hold {{"integrationId": "...", '
            '"parameters": {...}}'
        )
    return connection_id, body


def _instance_id(value: str | None, option: str) -> str:
    if value is None:
        return f"run-{uuid.uuid4().hex[:12]}"
    if not INSTANCE_ID.fullmatch(value):
        raise RunError(
            f"{option} {value!r}: use 1-200 letters, digits and . _ : @ - "
            "(starting with a letter or digit)"
        )
    return value


def _server_url(server: str) -> str:
    if not re.match(r"https?://[^/\s]+", server):
        raise RunError(f"--server {server!r}: expected an http:// or https:// URL")
    return server.rstrip("/")

"""The environment an instance gets: an allow-list, never the server's own environment.

The server's environment holds its secrets (``RUNTARA_ADMIN_KEY``,
``RUNTARA_SECRET_KEY``, the database URL with its password) and whatever else its
operator exported. An instance gets only:

* from the server's environment, the few names a program needs to start at all
  (:data:`FROM_SERVER`: ``PATH``, ``HOME``, locale, ``TMPDIR``, the Python path);
* what the runtime sets for this launch (:data:`FOR_INSTANCE`: its URL, id, tenant,
  token and input).

Every runner filters the environment it is handed through :func:`allowed`, so a
caller that passes too much still cannot leak it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: Names an instance inherits from the server's environment when they are set there.
FROM_SERVER = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "RUNTARA_RETRY_SECONDS",
    "RUNTARA_HEARTBEAT_SECONDS",
    # the MCP server commands an instance may start (runtara.agents.mcp_agent)
    "RUNTARA_MCP_COMMANDS",
)
#: Names the runtime sets for one launch (read by ``runtara.sdk``).
FOR_INSTANCE = (
    "RUNTARA_URL",
    "RUNTARA_INSTANCE_ID",
    "RUNTARA_TENANT_ID",
    "RUNTARA_INSTANCE_TOKEN",
    "RUNTARA_INPUT",
    "RUNTARA_INPUT_FILE",
    "RUNTARA_CHECKPOINT_ID",
    "PYTHONUNBUFFERED",
    "MALLOC_ARENA_MAX",
)
ALLOWED = frozenset(FROM_SERVER + FOR_INSTANCE)
#: An input larger than this is not put in the environment; the SDK then reads it
#: from the runtime when it registers (or, under ``runtara run``, from a file).
MAX_ENV_INPUT_BYTES = 64 * 1024


def from_server(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of the server's environment an instance inherits."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in FROM_SERVER if name in environ}


def allowed(environment: Mapping[str, str]) -> dict[str, str]:
    """``environment`` without every name outside the allow-list."""
    return {name: value for name, value in environment.items() if name in ALLOWED}

"""The ``sftp`` agent: list, download, upload, delete, move and create directories.

paramiko is imported inside the functions so that loading the catalog never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from runtara.agents.framework import Doc, agent

sftp_agent = agent(
    "sftp",
    name="SFTP",
    description="Transfer files over SFTP; needs an sftp connection.",
    secure=True,
)

ConnectionId = Annotated[str | None, Doc("Informational; the connection arrives as _connection.")]
RemotePath = Annotated[str, Doc("Remote path.")]
Connection = Mapping[str, Any] | None


@sftp_agent.capability(
    output="`[{name, path, size, is_directory, modified_time}]`; modified_time is ISO 8601.",
    side_effects=False,
)
def sftp_list_files(
    connection_id: ConnectionId = None,
    path: Annotated[str, Doc("Remote directory.")] = "/",
    _connection: Connection = None,
) -> list[dict[str, Any]]:
    """List the files in a remote directory."""
    raise NotImplementedError


@sftp_agent.capability(output="The file content, as text or base64.", side_effects=False)
def sftp_download_file(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    response_format: Annotated[
        Literal["text", "base64"], Doc("text (UTF-8) or base64 for binary files.")
    ] = "text",
    max_bytes: Annotated[int, Doc("Largest file accepted (default 100 MiB).")] = 100 * 1024 * 1024,
    _connection: Connection = None,
) -> str:
    """Download a file."""
    raise NotImplementedError


@sftp_agent.capability(output="The number of bytes written.")
def sftp_upload_file(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    content: Annotated[Any, Doc("Text, base64 string, byte array or file value.")],
    content_format: Annotated[
        Literal["text", "base64"], Doc("How a string `content` is read.")
    ] = "text",
    _connection: Connection = None,
) -> int:
    """Upload a file (written to a temporary name, then renamed into place)."""
    raise NotImplementedError


@sftp_agent.capability(output="`{success, path}`.")
def sftp_delete_file(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    _connection: Connection = None,
) -> dict[str, Any]:
    """Delete a file."""
    raise NotImplementedError


@sftp_agent.capability(output="`{success, from_path, to_path}`.")
def sftp_move_file(
    *,
    connection_id: ConnectionId = None,
    from_path: Annotated[str, Doc("Existing remote path.")],
    to_path: Annotated[str, Doc("New remote path.")],
    overwrite: Annotated[bool, Doc("Replace an existing file at to_path.")] = False,
    _connection: Connection = None,
) -> dict[str, Any]:
    """Move or rename a remote file."""
    raise NotImplementedError


@sftp_agent.capability(output="`{success, path, created}`.")
def sftp_create_directory(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    parents: Annotated[bool, Doc("Create missing parent directories too.")] = True,
    _connection: Connection = None,
) -> dict[str, Any]:
    """Create a remote directory."""
    raise NotImplementedError

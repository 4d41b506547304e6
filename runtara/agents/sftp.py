"""The ``sftp`` agent: list, download, upload, delete, move and create directories.

paramiko is imported inside the functions so that loading the catalog never imports it.
"""

from __future__ import annotations

import errno
import posixpath
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from runtara.agents._sftp_session import open_sftp
from runtara.agents.errors import AgentError, InputError, PermanentError, TransientError
from runtara.agents.files import (
    DEFAULT_MAX_READ_BYTES,
    decode_base64,
    file_value,
    read_ceiling,
    to_bytes,
)
from runtara.agents.framework import Doc, agent

if TYPE_CHECKING:
    import paramiko

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
    remote = safe_path(path)
    with _session(_connection, "sftp-list-files", remote) as client:
        entries = client.listdir_attr(remote)
    return [
        {
            "name": entry.filename,
            "path": posixpath.join(remote, entry.filename),
            "size": entry.st_size or 0,
            "is_directory": stat.S_ISDIR(entry.st_mode or 0),
            "modified_time": _iso(entry.st_mtime),
        }
        for entry in sorted(entries, key=lambda e: e.filename)
    ]


@sftp_agent.capability(output="The file content, as text or base64.", side_effects=False)
def sftp_download_file(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    response_format: Annotated[
        Literal["text", "base64"], Doc("text (UTF-8) or base64 for binary files.")
    ] = "text",
    max_bytes: Annotated[
        int,
        Doc(
            "Largest file accepted (default 10 MiB, at most 64 MiB): the step's output is "
            "checkpointed, and the runtime takes 16 MiB per checkpoint by default."
        ),
    ] = DEFAULT_MAX_READ_BYTES,
    _connection: Connection = None,
) -> str:
    """Download a file."""
    read_ceiling(max_bytes, "max_bytes")
    remote = safe_path(path)
    with _session(_connection, "sftp-download-file", remote) as client:
        size = client.stat(remote).st_size or 0
        if size > max_bytes:
            raise PermanentError(
                f"{remote} is {size} bytes, larger than max_bytes ({max_bytes})",
                code="SFTP_FILE_TOO_LARGE",
            )
        buffer = bytearray()
        with client.open(remote, "rb") as handle:
            handle.prefetch(size)
            while chunk := handle.read(CHUNK_SIZE):
                buffer += chunk
                if len(buffer) > max_bytes:
                    raise PermanentError(
                        f"{remote} grew beyond max_bytes ({max_bytes}) while reading",
                        code="SFTP_FILE_TOO_LARGE",
                    )
    if response_format == "base64":
        return str(file_value(bytes(buffer))["content"])
    try:
        return buffer.decode("utf-8")
    except UnicodeDecodeError:
        raise PermanentError(
            f"{remote} is not UTF-8 text; use response_format 'base64'", code="SFTP_NOT_TEXT"
        ) from None


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
    remote = safe_path(path)
    data = _content_bytes(content, content_format)
    temporary = f"{remote}.runtara-{secrets.token_hex(6)}.part"
    with _session(_connection, "sftp-upload-file", remote) as client:
        try:
            with client.open(temporary, "wb") as handle:
                handle.set_pipelined(True)
                for start in range(0, len(data), CHUNK_SIZE):
                    handle.write(data[start : start + CHUNK_SIZE])
            client.posix_rename(temporary, remote)
        except BaseException:
            _remove_quietly(client, temporary)
            raise
    return len(data)


@sftp_agent.capability(output="`{success, path}`.")
def sftp_delete_file(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    _connection: Connection = None,
) -> dict[str, Any]:
    """Delete a file."""
    remote = safe_path(path)
    with _session(_connection, "sftp-delete-file", remote) as client:
        client.remove(remote)
    return {"success": True, "path": remote}


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
    source, target = safe_path(from_path, "from_path"), safe_path(to_path, "to_path")
    with _session(_connection, "sftp-move-file", source) as client:
        if not overwrite and _exists(client, target):
            raise PermanentError(
                f"{target} already exists (set overwrite to replace it)", code="SFTP_EXISTS"
            )
        client.posix_rename(source, target)
    return {"success": True, "from_path": source, "to_path": target}


@sftp_agent.capability(output="`{success, path, created}`.")
def sftp_create_directory(
    *,
    connection_id: ConnectionId = None,
    path: RemotePath,
    parents: Annotated[bool, Doc("Create missing parent directories too.")] = True,
    _connection: Connection = None,
) -> dict[str, Any]:
    """Create a remote directory."""
    remote = safe_path(path)
    with _session(_connection, "sftp-create-directory", remote) as client:
        if _exists(client, remote):
            if not stat.S_ISDIR(client.stat(remote).st_mode or 0):
                raise PermanentError(f"{remote} exists and is not a directory", code="SFTP_EXISTS")
            return {"success": True, "path": remote, "created": False}
        missing = [remote]
        if parents:
            parent = posixpath.dirname(remote.rstrip("/"))
            while parent not in ("", "/", ".") and not _exists(client, parent):
                missing.append(parent)
                parent = posixpath.dirname(parent)
        for directory in reversed(missing):
            client.mkdir(directory)
    return {"success": True, "path": remote, "created": True}


CHUNK_SIZE = 256 * 1024


def safe_path(path: str, field: str = "path") -> str:
    """Normalize a remote path; refuse ``..`` segments, NUL bytes and empty paths."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(f"{field} is empty", field=field)
    if "\x00" in path:
        raise InputError(f"{field} contains a NUL byte", field=field)
    if ".." in path.replace("\\", "/").split("/"):
        raise InputError(f"{field} {path!r} contains '..' (path traversal is refused)", field=field)
    normalized = posixpath.normpath(path.strip())
    return "/" if normalized == "//" else normalized


def _content_bytes(content: Any, content_format: str) -> bytes:
    if isinstance(content, str):
        if content_format == "base64":
            return decode_base64(content, field="content")
        return content.encode("utf-8")
    return to_bytes(content, field="content")


@contextmanager
def _session(
    connection: Mapping[str, Any] | None, capability: str, path: str
) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session whose file errors become classified AgentErrors naming the path."""
    with open_sftp(connection, f"sftp:{capability}") as client:
        try:
            yield client
        except AgentError:
            raise
        except OSError as exc:
            raise _file_error(exc, path) from None


def _file_error(exc: OSError, path: str) -> AgentError:
    code = exc.errno
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return PermanentError(f"{path}: no such file or directory", code="SFTP_NOT_FOUND")
    if isinstance(exc, PermissionError) or code == errno.EACCES:
        return PermanentError(f"{path}: permission denied", code="SFTP_PERMISSION_DENIED")
    if isinstance(exc, TimeoutError):
        return TransientError(f"{path}: SFTP operation timed out", code="SFTP_TIMEOUT")
    reason = exc.strerror or (str(exc.args[0]) if exc.args else type(exc).__name__)
    return PermanentError(f"{path}: {reason}", code="SFTP_ERROR")


def _exists(client: paramiko.SFTPClient, path: str) -> bool:
    try:
        client.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def _remove_quietly(client: paramiko.SFTPClient, path: str) -> None:
    with suppress(OSError):
        client.remove(path)


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()

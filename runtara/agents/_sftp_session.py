"""An authenticated SFTP session from an ``sftp`` connection (paramiko, imported lazily).

The server's host key is checked against the connection's ``host_key`` *before* any
credential is sent, so a wrong server never sees the password. Errors are classified:
authentication and host-key failures are permanent, network failures transient.
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runtara.agents.connections import connection_parameters
from runtara.agents.errors import InputError, PermanentError, TransientError

if TYPE_CHECKING:
    import paramiko

CONNECT_TIMEOUT_S = 30.0


@contextmanager
def open_sftp(
    connection: Mapping[str, Any] | None, capability: str
) -> Iterator[paramiko.SFTPClient]:
    """Yield a connected SFTP client; close everything afterwards."""
    import paramiko

    _, params = connection_parameters(connection, expected=("sftp",), capability=capability)
    host = params.get("host")
    username = params.get("username")
    if not isinstance(host, str) or not host:
        raise InputError("sftp connection has no 'host'", field="_connection")
    if not isinstance(username, str) or not username:
        raise InputError("sftp connection has no 'username'", field="_connection")
    port = _port(params.get("port", 22))
    where = f"sftp://{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        raise TransientError(
            f"{where}: cannot connect ({exc.strerror or type(exc).__name__})",
            code="SFTP_CONNECTION_ERROR",
        ) from None
    transport = paramiko.Transport(sock)
    try:
        try:
            transport.start_client(timeout=CONNECT_TIMEOUT_S)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TransientError(
                f"{where}: SSH handshake failed ({exc})", code="SFTP_CONNECTION_ERROR"
            ) from None
        check_host_key(transport.get_remote_server_key(), params.get("host_key"), where)
        _authenticate(transport, username, params, where)
        client = paramiko.SFTPClient.from_transport(transport)
        if client is None:
            raise TransientError(f"{where}: could not open the SFTP channel", code="SFTP_ERROR")
        client.get_channel().settimeout(CONNECT_TIMEOUT_S)  # type: ignore[union-attr]
        with client:
            yield client
    finally:
        transport.close()


def check_host_key(key: paramiko.PKey, expected: Any, where: str) -> None:
    """Compare the server's key with ``expected`` (known_hosts line, ``type base64``, or
    a ``SHA256:`` fingerprint). No expectation means any key is accepted."""
    if expected is None or (isinstance(expected, str) and not expected.strip()):
        return
    if not isinstance(expected, str):
        raise InputError("sftp connection 'host_key' must be a string", field="_connection")
    actual_fingerprint = "SHA256:" + base64.b64encode(
        hashlib.sha256(key.asbytes()).digest()
    ).decode("ascii").rstrip("=")
    for line in expected.strip().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].startswith("SHA256:"):
            if words[0].rstrip("=") == actual_fingerprint:
                return
            continue
        for index, word in enumerate(words[:-1]):
            if word == key.get_name() and words[index + 1] == key.get_base64():
                return
    raise PermanentError(
        f"{where}: host key mismatch; the server presented {key.get_name()} "
        f"{actual_fingerprint}, which is not the connection's host_key",
        code="SFTP_HOST_KEY_MISMATCH",
    )


def _authenticate(
    transport: paramiko.Transport, username: str, params: Mapping[str, Any], where: str
) -> None:
    import paramiko

    private_key = params.get("private_key")
    password = params.get("password")
    try:
        if isinstance(private_key, str) and private_key.strip():
            key = load_private_key(private_key, params.get("passphrase"))
            transport.auth_publickey(username, key)
        elif isinstance(password, str) and password:
            transport.auth_password(username, password)
        else:
            raise InputError(
                "sftp connection needs a 'password' or a 'private_key'", field="_connection"
            )
    except paramiko.AuthenticationException:
        raise PermanentError(
            f"{where}: authentication failed for user {username!r}", code="SFTP_AUTH_FAILED"
        ) from None
    except paramiko.SSHException as exc:
        raise TransientError(f"{where}: SSH error ({exc})", code="SFTP_CONNECTION_ERROR") from None


def load_private_key(text: str, passphrase: Any) -> paramiko.PKey:
    """Parse an OpenSSH or PEM private key of any type paramiko supports."""
    import paramiko

    secret = passphrase if isinstance(passphrase, str) and passphrase else None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text.strip() + "\n"), password=secret)
        except paramiko.PasswordRequiredException:
            raise InputError(
                "sftp private_key is encrypted and needs a 'passphrase'", field="_connection"
            ) from None
        except (paramiko.SSHException, ValueError):
            continue
    raise InputError(
        "sftp private_key is not a readable private key (or the passphrase is wrong)",
        field="_connection",
    )


def _port(value: Any) -> int:
    try:
        port = int(value if value not in (None, "") else 22)
    except (TypeError, ValueError):
        raise InputError("sftp connection 'port' must be a number", field="_connection") from None
    if not 0 < port < 65536:
        raise InputError("sftp connection 'port' is out of range", field="_connection")
    return port

"""The sftp agent against a real OpenSSH server on loopback."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke
from tests.support.sshd import SshServer

pytestmark = pytest.mark.sshd


def sftp(capability: str, inputs: dict[str, Any], connection: dict[str, Any]) -> Any:
    return invoke("sftp", capability, inputs, connection=connection, step_id="files")


def test_upload_list_download_delete_with_password(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection()
    target = f"{sftp_root}/report.txt"

    written = sftp("sftp-upload-file", {"path": target, "content": "zażółć\n"}, connection)
    listing = sftp("sftp-list-files", {"path": str(sftp_root)}, connection)
    text = sftp("sftp-download-file", {"path": target}, connection)

    assert written == len("zażółć\n".encode())
    assert Path(target).read_text(encoding="utf-8") == "zażółć\n"
    assert [(e["name"], e["size"], e["is_directory"]) for e in listing] == [
        ("report.txt", written, False)
    ]
    assert listing[0]["path"] == target
    assert listing[0]["modified_time"].endswith("+00:00")
    assert text == "zażółć\n"

    assert sftp("sftp-delete-file", {"path": target}, connection) == {
        "success": True,
        "path": target,
    }
    assert not Path(target).exists()


def test_private_key_authentication(ssh_server: SshServer, sftp_root: Path) -> None:
    (sftp_root / "in.bin").write_bytes(bytes(range(256)))
    connection = ssh_server.connection(password=None, private_key=ssh_server.private_key)

    content = sftp(
        "sftp-download-file",
        {"path": f"{sftp_root}/in.bin", "response_format": "base64"},
        connection,
    )

    assert base64.b64decode(content) == bytes(range(256))


def test_encrypted_private_key_with_passphrase(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection(
        password=None, private_key=ssh_server.encrypted_key, passphrase=ssh_server.passphrase
    )

    assert sftp("sftp-list-files", {"path": str(sftp_root)}, connection) == []


def test_encrypted_private_key_without_passphrase_names_the_problem(
    ssh_server: SshServer, sftp_root: Path
) -> None:
    connection = ssh_server.connection(password=None, private_key=ssh_server.encrypted_key)

    with pytest.raises(InputError, match="needs a 'passphrase'"):
        sftp("sftp-list-files", {"path": str(sftp_root)}, connection)


def test_garbage_private_key_is_an_input_error(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection(password=None, private_key="-----BEGIN nonsense-----")

    with pytest.raises(InputError, match="not a readable private key"):
        sftp("sftp-list-files", {"path": str(sftp_root)}, connection)


def test_wrong_password_is_a_permanent_auth_error(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection(password="not-the-password")

    with pytest.raises(AgentError) as caught:
        sftp("sftp-list-files", {"path": str(sftp_root)}, connection)

    assert caught.value.code == "SFTP_AUTH_FAILED"
    assert caught.value.category == "permanent"
    assert "not-the-password" not in str(caught.value)


def test_wrong_host_key_is_refused_before_authenticating(
    ssh_server: SshServer, sftp_root: Path
) -> None:
    # A valid ed25519 key that is not the server's.
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    connection = ssh_server.connection(host_key=other)

    with pytest.raises(AgentError) as caught:
        sftp("sftp-list-files", {"path": str(sftp_root)}, connection)

    assert caught.value.code == "SFTP_HOST_KEY_MISMATCH"
    assert caught.value.category == "permanent"
    assert "SHA256:" in caught.value.message
    assert ssh_server.password not in str(caught.value)


def test_host_key_as_sha256_fingerprint(ssh_server: SshServer, sftp_root: Path) -> None:
    key_b64 = ssh_server.host_key_line.split()[-1]
    digest = hashlib.sha256(base64.b64decode(key_b64)).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    listing = sftp(
        "sftp-list-files", {"path": str(sftp_root)}, ssh_server.connection(host_key=fingerprint)
    )

    assert listing == []


def test_large_file_round_trip_is_streamed(ssh_server: SshServer, sftp_root: Path) -> None:
    payload = os.urandom(5 * 1024 * 1024 + 17)
    connection = ssh_server.connection()
    target = f"{sftp_root}/big.bin"

    written = sftp(
        "sftp-upload-file",
        {"path": target, "content": base64.b64encode(payload).decode(), "content_format": "base64"},
        connection,
    )
    content = sftp("sftp-download-file", {"path": target, "response_format": "base64"}, connection)

    assert written == len(payload)
    assert Path(target).read_bytes() == payload
    assert base64.b64decode(content) == payload
    assert [p.name for p in sftp_root.iterdir()] == ["big.bin"]  # no temporary left behind


def test_download_larger_than_max_bytes_fails_clearly(
    ssh_server: SshServer, sftp_root: Path
) -> None:
    (sftp_root / "big.txt").write_text("x" * 2000)

    with pytest.raises(AgentError) as caught:
        sftp(
            "sftp-download-file",
            {"path": f"{sftp_root}/big.txt", "max_bytes": 1000},
            ssh_server.connection(),
        )

    assert caught.value.code == "SFTP_FILE_TOO_LARGE"


def test_move_and_mkdir(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection()
    (sftp_root / "a.csv").write_text("a,b\n")
    os.chown(sftp_root / "a.csv", *_owner(sftp_root))

    created = sftp("sftp-create-directory", {"path": f"{sftp_root}/archive/2024/01"}, connection)
    again = sftp("sftp-create-directory", {"path": f"{sftp_root}/archive/2024/01"}, connection)
    moved = sftp(
        "sftp-move-file",
        {"from_path": f"{sftp_root}/a.csv", "to_path": f"{sftp_root}/archive/2024/01/a.csv"},
        connection,
    )

    assert created["created"] is True and again["created"] is False
    assert moved["success"] is True
    assert (sftp_root / "archive/2024/01/a.csv").read_text() == "a,b\n"
    assert not (sftp_root / "a.csv").exists()


def test_move_refuses_to_overwrite_unless_asked(ssh_server: SshServer, sftp_root: Path) -> None:
    connection = ssh_server.connection()
    for name, text in (("a", "new"), ("b", "old")):
        sftp("sftp-upload-file", {"path": f"{sftp_root}/{name}", "content": text}, connection)
    move = {"from_path": f"{sftp_root}/a", "to_path": f"{sftp_root}/b"}

    with pytest.raises(AgentError) as caught:
        sftp("sftp-move-file", move, connection)
    assert caught.value.code == "SFTP_EXISTS"
    assert (sftp_root / "b").read_text() == "old"

    sftp("sftp-move-file", {**move, "overwrite": True}, connection)
    assert (sftp_root / "b").read_text() == "new"


def test_missing_file_is_a_permanent_not_found(ssh_server: SshServer, sftp_root: Path) -> None:
    with pytest.raises(AgentError) as caught:
        sftp("sftp-download-file", {"path": f"{sftp_root}/nope.txt"}, ssh_server.connection())

    assert caught.value.code == "SFTP_NOT_FOUND"
    assert "nope.txt" in caught.value.message
    assert "step 'files' (sftp:sftp-download-file)" in caught.value.message


@pytest.mark.parametrize("path", ["../etc/passwd", "/srv/data/../../etc/shadow", "a/..", "x\x00y"])
def test_path_traversal_is_refused_without_connecting(path: str) -> None:
    unreachable = {
        "integration_id": "sftp",
        "parameters": {"host": "127.0.0.1", "port": 1, "username": "nobody", "password": "pw"},
    }

    with pytest.raises(InputError) as caught:
        sftp("sftp-download-file", {"path": path}, unreachable)

    assert caught.value.field == "path"


def test_unreachable_server_is_transient() -> None:
    unreachable = {
        "integration_id": "sftp",
        "parameters": {"host": "127.0.0.1", "port": 1, "username": "nobody", "password": "pw"},
    }

    with pytest.raises(AgentError) as caught:
        sftp("sftp-list-files", {"path": "/"}, unreachable)

    assert caught.value.category == "transient"
    assert caught.value.code == "SFTP_CONNECTION_ERROR"


def test_sftp_without_connection_names_the_problem() -> None:
    with pytest.raises(InputError) as caught:
        invoke("sftp", "sftp-list-files", {"path": "/"}, step_id="s")

    assert "needs a connection" in str(caught.value)


def _owner(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_uid, info.st_gid

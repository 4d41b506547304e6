"""Fixtures for the agent tests: a real SSH server and a TLS HTTP server."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from tests.support import sshd


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.SshServer]:
    reason = sshd.available()
    if reason:
        pytest.skip(reason)
    with sshd.running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(tls_ca: trustme.CA) -> Iterator[HTTPServer]:
    """An HTTPS server whose certificate is signed by ``tls_ca`` (not trusted by the system)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def ca_pem(tls_ca: trustme.CA) -> str:
    return tls_ca.cert_pem.bytes().decode("ascii")


@pytest.fixture
def sftp_root(ssh_server: sshd.SshServer, tmp_path: Path) -> Path:
    """A fresh directory, writable by the SFTP user, for one test."""
    import os
    import pwd

    directory = ssh_server.root / tmp_path.name
    directory.mkdir()
    user = pwd.getpwnam(ssh_server.username)
    os.chown(directory, user.pw_uid, user.pw_gid)
    return directory

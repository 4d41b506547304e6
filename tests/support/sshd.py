"""A real OpenSSH server on loopback for the SFTP tests.

The fixture creates (once per machine, under a file lock) a dedicated system user whose
only possible session is ``internal-sftp``, writes a private sshd config with fresh host
keys in a temp dir, starts ``/usr/sbin/sshd -D`` on a free port and stops it afterwards.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.polling import accepts, free_port, wait_for

SSHD = "/usr/sbin/sshd"
USER = "runtara-sftp-test"
STATE_DIR = Path("/var/lib/runtara-tests")


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    username: str
    password: str
    private_key: str
    encrypted_key: str
    passphrase: str
    host_key_line: str
    root: Path

    def connection(self, **overrides: object) -> dict[str, object]:
        parameters: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "host_key": self.host_key_line,
        }
        parameters.update(overrides)
        return {
            "integration_id": "sftp",
            "parameters": {k: v for k, v in parameters.items() if v is not None},
        }


def available() -> str | None:
    """Why the server cannot run here, or None."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is not installed"
    if os.geteuid() != 0:
        return "starting sshd with a test user needs root"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is not installed"
    return None


def _keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _ensure_user() -> str:
    """Create the test user (if needed) and return its password, under a machine-wide lock."""
    STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    with open(STATE_DIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        password_file = STATE_DIR / "sftp-password"
        try:
            pwd.getpwnam(USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                check=True,
                capture_output=True,
            )
            password_file.unlink(missing_ok=True)
        if not password_file.exists():
            password = secrets.token_urlsafe(18)
            subprocess.run(
                ["chpasswd"],
                input=f"{USER}:{password}\n",
                text=True,
                check=True,
                capture_output=True,
            )
            password_file.write_text(password)
            password_file.chmod(0o600)
        return password_file.read_text().strip()


@contextmanager
def running_sshd(workdir: Path) -> Iterator[SshServer]:
    password = _ensure_user()
    user = pwd.getpwnam(USER)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    keys = workdir / "keys"
    keys.mkdir()
    _keygen(keys / "host_ed25519")
    _keygen(keys / "client_ed25519")
    passphrase = secrets.token_urlsafe(12)
    _keygen(keys / "client_ecdsa", "ecdsa", passphrase)
    # The SFTP user must reach these, and pytest's own temp dirs are private to root.
    shared = Path(tempfile.mkdtemp(prefix="runtara-sshd-"))
    shared.chmod(0o755)
    authorized_keys = shared / "authorized_keys"
    authorized_keys.write_text(
        (keys / "client_ed25519.pub").read_text() + (keys / "client_ecdsa.pub").read_text()
    )
    authorized_keys.chmod(0o644)
    root = shared / "files"
    root.mkdir()
    os.chown(root, user.pw_uid, user.pw_gid)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {keys / "host_ed25519"}
PidFile {workdir / "sshd.pid"}
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers {USER}
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
LogLevel VERBOSE
"""
    )
    log = (workdir / "sshd.log").open("w")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    try:
        _wait_for_port(port, process, workdir / "sshd.log")
        host_type, host_b64 = (keys / "host_ed25519.pub").read_text().split()[:2]
        yield SshServer(
            host="127.0.0.1",
            port=port,
            username=USER,
            password=password,
            private_key=(keys / "client_ed25519").read_text(),
            encrypted_key=(keys / "client_ecdsa").read_text(),
            passphrase=passphrase,
            host_key_line=f"[127.0.0.1]:{port} {host_type} {host_b64}",
            root=root,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(shared, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for(
        lambda: accepts(port), 15, what=f"sshd to listen on port {port}", process=process, log=log
    )

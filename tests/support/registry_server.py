"""A real Distribution registry (``docker-registry serve``) on a free loopback port."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.polling import answers, free_port, wait_for

USERNAME = "pusher"
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class LocalRegistry:
    host: str  # "127.0.0.1:PORT"
    scheme: str
    ca_file: Path | None
    log: Path

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def htpasswd_file(directory: Path) -> Path:
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd not installed (apache2-utils)")
    line = subprocess.run(
        ["htpasswd", "-Bbn", USERNAME, PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = directory / "htpasswd"
    path.write_text(line + "\n")
    return path


@contextmanager
def run_registry(
    directory: Path,
    *,
    auth: str,
    tls: tuple[Path, Path, Path] | None = None,
) -> Iterator[LocalRegistry]:
    """Start ``docker-registry`` with the given ``auth:`` YAML block; stop it afterwards.

    ``tls`` is (certificate, key, CA file).
    """
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry not installed")
    port = free_port()
    tls_block = ""
    if tls is not None:
        tls_block = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n"
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n{tls_block}"
        f"auth:\n{auth}"
    )
    log = directory / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=out)
    registry = LocalRegistry(
        f"127.0.0.1:{port}", "https" if tls else "http", tls[2] if tls else None, log
    )
    try:
        _wait_ready(registry, process)
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(registry: LocalRegistry, process: subprocess.Popen[bytes]) -> None:
    verify = ssl.create_default_context(cafile=str(registry.ca_file)) if registry.ca_file else True
    wait_for(
        lambda: answers(f"{registry.url}/v2/", verify),
        20,
        what="docker-registry to answer /v2/",
        process=process,
        log=registry.log,
    )

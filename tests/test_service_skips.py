"""The suite on a machine without its services: each test that needs one skips with a
one-line reason, the run ends with one line naming what was skipped and the command
that provides it, and under CI=true the same skips fail the run. Services are made
missing for a child pytest run: a PATH without docker, gcc or patchelf, a PostgreSQL URL
nobody answers, an sshd path that does not exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.polling import free_port

ROOT = Path(__file__).resolve().parents[1]

NEEDY_TESTS = """
import pytest

@pytest.mark.postgres
def test_needs_postgres(): pass

@pytest.mark.docker
def test_needs_docker(): pass

@pytest.mark.sshd
def test_needs_sshd(): pass

@pytest.mark.native
def test_needs_a_native_build(): pass

def test_needs_nothing(): pass
"""


def _bare_machine(tmp_path: Path, ci: bool) -> dict[str, str]:
    """This environment with every service missing (and nothing opted out)."""
    bin_dir = tmp_path / "bin"  # only this interpreter: no docker, gcc, cc, clang, patchelf
    bin_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_SKIP_")}
    env.update(
        PATH=str(bin_dir),
        CC="",
        CI="true" if ci else "",
        DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock",
        RUNTARA_TEST_POSTGRES_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/test",
        RUNTARA_TEST_SSHD=str(tmp_path / "no-sshd"),
    )
    return env


def _pytest(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    tests = tmp_path / "test_needy.py"
    tests.write_text(NEEDY_TESTS)
    plugin = ["-p", "no:cacheprovider", "-p", "tests.conftest", "-c", str(ROOT / "pyproject.toml")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "--rootdir", str(ROOT), "-rs", str(tests)],
        cwd=ROOT,
        env=_bare_machine(tmp_path, ci),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_services_skip_with_one_summary_line(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 4 skipped" in done.stdout
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 4
    for service in ("PostgreSQL", "Docker", "sshd", "native toolchain"):
        assert any(f"missing service: {service}: " in line for line in skips), skips
    summary = [line for line in done.stdout.splitlines() if "for missing services" in line]
    assert summary == [
        "skipped 4 test(s) for missing services: PostgreSQL (1), Docker (1), sshd (1), "
        "native toolchain (1); `bash .ci/services.sh` provides them"
    ]
    assert "Traceback" not in done.stdout


def test_under_ci_a_missing_service_fails_the_run(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=True)
    assert done.returncode == 1
    assert "1 passed, 4 errors" in done.stdout  # failed in setup, where the skip was
    assert "skipped under CI=true (CI must provide everything): missing service:" in done.stdout

"""``runtara run`` of a JSON workflow needs no web service: the instance talks to the
store through the command itself, so neither FastAPI nor uvicorn is imported and no
port is opened, and the output is the workflow's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.run_processes import EXAMPLES, environment


def test_hello_runs_without_importing_a_web_framework(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runtara", "run", str(EXAMPLES / "hello.json")],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hello, World!", "language": "en"}
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "runtara.compiler.codegen" in imported  # the import log is the command's own
    assert not {"fastapi", "uvicorn", "starlette", "httpx"} & imported

"""``runtara images register --workflow`` refuses a bad workflow before it reaches the
server, with every diagnostic worded and located exactly as ``runtara validate`` does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.polling import free_port

BAD = {
    "entryPoint": "nowhere",
    "steps": {
        "a": {
            "stepType": "Finish",
            "id": "b",
            "inputMapping": {"x": {"valueType": "reference", "value": "steps.zzz.outputs"}},
        }
    },
}


def runtara(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args], capture_output=True, text=True, timeout=60
    )


def test_register_reports_every_diagnostic_as_validate_does(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(BAD, indent=2))
    validated = runtara("validate", str(bad))
    diagnostics = validated.stdout.splitlines()
    assert validated.returncode == 1 and len(diagnostics) == 3
    url = f"http://127.0.0.1:{free_port()}"  # never reached: refused before any request
    registered = runtara("images", "register", "x", "--workflow", str(bad), "--url", url)
    assert registered.returncode == 1
    assert registered.stderr.splitlines() == [
        *diagnostics,
        f"error: --workflow {bad}: 3 error(s); nothing registered",
    ]


def test_register_of_a_missing_workflow_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    registered = runtara("images", "register", "x", "--workflow", str(missing))
    assert registered.returncode == 2
    assert f"{missing}:1:1: S000 cannot read file" in registered.stderr
    assert "Traceback" not in registered.stderr

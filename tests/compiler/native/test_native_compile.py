"""``runtara compile``: validate -> codegen -> native -> image, and the same output as interpreted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtara.compiler.native.workflow import read_build
from runtara.compiler.oci.layout import OciImage
from tests.support.native_builds import NativeCompiler
from tests.support.servers import Server
from tests.support.services import skip_missing

ROOT = Path(__file__).resolve().parents[3]
HELLO = ROOT / "examples" / "hello.json"
HELLO_INPUT = {"name": "ada lovelace", "language": "fr"}


def _runtara(
    *args: str, cache: Path, cwd: Path, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "RUNTARA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``runtara server --dev`` on a free port with its own SQLite database."""
    directory = tmp_path_factory.mktemp("server")
    server = Server(
        f"sqlite:///{directory / 'runtara.db'}",
        directory,
        server_id="native",
        fast=False,
        cwd=directory,
    ).start(timeout=30)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def compiled_hello(native_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("compiled") / "hello"
    result = _runtara(
        "compile", str(HELLO), "-o", str(directory), "--tag", "hello-test:1.0.0",
        "--format", "json", cache=native_cache, cwd=directory.parent,
    )  # fmt: skip
    if "Nuitka is not installed" in result.stderr or "no C compiler" in result.stderr:
        skip_missing("native toolchain", result.stderr.strip())
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tag"] == "hello-test:1.0.0"
    return directory


def _instance_output(url: str, instance_id: str) -> Any:
    answer = httpx.get(
        f"{url}/v1/instances/{instance_id}", headers={"X-Runtara-Tenant": "compile-test"}
    )
    answer.raise_for_status()
    state = answer.json()
    assert state["status"] == "completed", state
    return state["output"]


def _interpreted_output(tmp_path: Path, cache: Path) -> object:
    result = _runtara(
        "run",
        str(HELLO),
        "--input",
        json.dumps(HELLO_INPUT),
        cache=cache,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _instance_env(url: str, instance_id: str) -> dict[str, str]:
    return {
        "RUNTARA_URL": url,
        "RUNTARA_INSTANCE_ID": instance_id,
        "RUNTARA_TENANT_ID": "compile-test",
        "RUNTARA_INSTANCE_TOKEN": "",
        "RUNTARA_INPUT": json.dumps(HELLO_INPUT),
    }


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_compiled_binary_gives_the_interpreted_output(
    compiled_hello: Path, dev_server: str, native_cache: Path, tmp_path: Path
) -> None:
    build = read_build(compiled_hello)
    assert (compiled_hello / build.source).read_text().startswith('"""')
    assert (compiled_hello / build.image).is_file()
    assert build.memory_tier == "XL"

    instance_id = f"native-{uuid.uuid4().hex[:8]}"
    env = {"PATH": os.environ["PATH"], "LANG": "C", **_instance_env(dev_server, instance_id)}
    native = subprocess.run(
        [str(compiled_hello / build.binary)], env=env, capture_output=True, text=True, timeout=60
    )
    assert native.returncode == 0, native.stderr

    assert _instance_output(dev_server, instance_id) == _interpreted_output(tmp_path, native_cache)


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_compile_in_a_log_prints_one_line_per_phase_and_nothing_with_quiet(
    compiled_hello: Path, native_cache: Path, tmp_path: Path
) -> None:
    """Not a terminal (CI): each phase as it begins; the launcher and the module are
    cached by now, so this compile reuses them and says so."""
    again = tmp_path / "again"
    logged = _runtara("compile", str(HELLO), "-o", str(again), cache=native_cache, cwd=tmp_path)
    assert logged.returncode == 0, logged.stderr
    assert logged.stderr.splitlines() == [
        f"validating {HELLO}",
        "generating the workflow module",
        "workflow module unchanged: reusing its build",
        "writing the OCI image",
    ]
    quiet = _runtara(
        "compile", str(HELLO), "-o", str(again), "--quiet", cache=native_cache, cwd=tmp_path
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("compiled hello:latest -> ")


@pytest.mark.native
@pytest.mark.docker
@pytest.mark.timeout(1200)
def test_compile_load_puts_a_runnable_image_into_docker(
    dev_server: str, native_cache: Path, tmp_path: Path
) -> None:
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    tag = f"hello-load-{uuid.uuid4().hex[:8]}:1.0.0"
    result = _runtara(
        "compile", str(HELLO), "-o", str(tmp_path / "out"), "--tag", tag, "--load",
        cache=native_cache, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    build = read_build(tmp_path / "out")
    image = client.images.get(tag)
    try:
        assert image.id == build.image_config_digest
        instance_id = f"docker-{uuid.uuid4().hex[:8]}"
        client.containers.run(
            tag,
            remove=True,
            network_mode="host",
            environment=_instance_env(dev_server, instance_id),
        )
        assert _instance_output(dev_server, instance_id) == _interpreted_output(
            tmp_path, native_cache
        )
    finally:
        client.images.remove(image.id, force=True)


def test_compile_of_an_invalid_workflow_lists_the_problems(tmp_path: Path) -> None:
    invalid = ROOT / "tests" / "fixtures" / "invalid" / "E002_unreachable_step.json"
    result = _runtara(
        "compile", str(invalid), "-o", str(tmp_path / "out"), cache=tmp_path, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "E002" in result.stderr
    assert "nothing compiled" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "a refused compile left a partial output folder"


def test_a_refused_compile_over_an_earlier_build_leaves_it_unpushable(tmp_path: Path) -> None:
    """The folder's last compile failed: its old image must not pass for the new one."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "image.tar").write_bytes(b"an earlier build")
    (out / "build.json").write_text("{}")
    invalid = ROOT / "tests" / "fixtures" / "invalid" / "E002_unreachable_step.json"
    result = _runtara("compile", str(invalid), "-o", str(out), cache=tmp_path, cwd=tmp_path)
    assert result.returncode == 1
    assert not (out / "build.json").exists()
    pushed = _runtara("push", str(out), "127.0.0.1:1/x:1", cache=tmp_path, cwd=tmp_path)
    assert pushed.returncode == 2
    assert "did not finish" in pushed.stderr
    assert "Traceback" not in pushed.stderr


def test_compile_with_a_bad_tag_fails_cleanly(tmp_path: Path) -> None:
    result = _runtara(
        "compile", str(HELLO), "-o", str(tmp_path / "out"), "--tag", "Hello World",
        cache=tmp_path, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2  # a bad argument (the exit-code table)
    assert "expected NAME:VERSION" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_of_a_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = _runtara("compile", str(tmp_path / "nope.json"), cache=tmp_path, cwd=tmp_path)
    assert result.returncode == 2  # a missing file, as in `runtara run` and `validate`
    assert "nope.json" in result.stderr
    assert "Traceback" not in result.stderr


PARENT = {
    "name": "greet-twice",
    "entryPoint": "greet",
    "steps": {
        "greet": {
            "stepType": "EmbedWorkflow",
            "id": "greet",
            "childWorkflowId": "hello",
            "childVersion": "latest",
            "inputMapping": {
                "name": {"valueType": "reference", "value": "data.name"},
                "language": {"valueType": "reference", "value": "data.language"},
            },
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {"child": {"valueType": "reference", "value": "steps.greet.outputs"}},
        },
    },
    "executionPlan": [{"fromStep": "greet", "toStep": "done"}],
}


def test_compile_without_the_child_workflow_fails_cleanly(tmp_path: Path) -> None:
    parent = tmp_path / "parent.json"
    parent.write_text(json.dumps(PARENT))
    result = _runtara(
        "compile", str(parent), "-o", str(tmp_path / "out"), cache=tmp_path, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "E051" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_compile_with_a_child_workflow_embeds_it(
    dev_server: str, native_cache: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "parent.json"
    parent.write_text(json.dumps(PARENT))
    out = tmp_path / "out"
    result = _runtara(
        "compile", str(parent), "-o", str(out), "--child", str(HELLO),
        cache=native_cache, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    instance_id = f"child-{uuid.uuid4().hex[:8]}"
    env = {"PATH": os.environ["PATH"], "LANG": "C", **_instance_env(dev_server, instance_id)}
    native = subprocess.run(
        [str(out / read_build(out).binary)], env=env, capture_output=True, text=True, timeout=60
    )
    assert native.returncode == 0, native.stderr
    interpreted = _runtara(
        "run", str(parent), "--child", str(HELLO), "--input", json.dumps(HELLO_INPUT),
        cache=native_cache, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert interpreted.returncode == 0, interpreted.stderr
    output = _instance_output(dev_server, instance_id)
    assert output == json.loads(interpreted.stdout)
    assert output["child"]["message"] == "Bonjour, Ada Lovelace!"


def test_compile_of_a_program_with_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    program = tmp_path / "job.py"
    program.write_text("from runtara.sdk import Runtara\n\nrt = Runtara.from_env(\n")
    result = _runtara(
        "compile", str(program), "-o", str(tmp_path / "out"), cache=tmp_path, cwd=tmp_path
    )
    assert result.returncode == 1
    assert f"{program}:3" in result.stderr
    assert "not valid Python; nothing compiled" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_compile_of_a_program_refuses_child_workflows(tmp_path: Path) -> None:
    program = tmp_path / "job.py"
    program.write_text("print('hi')\n")
    result = _runtara(
        "compile", str(program), "--child", str(HELLO), "-o", str(tmp_path / "out"),
        cache=tmp_path, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--child applies to JSON workflows" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_of_a_missing_program_fails_cleanly(tmp_path: Path) -> None:
    result = _runtara("compile", str(tmp_path / "job.py"), cache=tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    assert "job.py: no such file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_compile_of_a_program_importing_outside_the_runtime_names_the_import(
    native_cache: Path, tmp_path: Path
) -> None:
    """A program may use the standard library, runtara.sdk and runtara.agents: another
    package would be missing from the binary, so the compile says which, and where."""
    program = tmp_path / "job.py"
    program.write_text("import json\nimport httpx\n\nprint(json.dumps(httpx.__name__))\n")
    result = _runtara(
        "compile", str(program), "-o", str(tmp_path / "out"), cache=native_cache, cwd=tmp_path
    )
    assert result.returncode == 1
    assert f"{program}: imports modules the native runtime does not contain: httpx (line 2)" in (
        result.stderr.replace("\n", " ")
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.native
@pytest.mark.timeout(1500)
def test_only_sftp_workflows_carry_paramikos_extension_modules(
    native_compiler: NativeCompiler,
) -> None:
    """The extensions paramiko loads (cryptography, bcrypt, PyNaCl: megabytes) are in
    the binary and image of an SFTP workflow, in a layer of their own, and left out of
    the others; the root filesystem and runtime layers are the same for both."""
    plain = native_compiler(HELLO)
    sftp = native_compiler(ROOT / "examples" / "csv_batch.json")
    layers = {}
    for name, compiled in (("plain", plain), ("sftp", sftp)):
        with OciImage(compiled / read_build(compiled).image) as image:
            layers[name] = [layer["digest"] for layer in image.manifest["layers"]]
    assert len(layers["plain"]) == 3
    assert len(layers["sftp"]) == 4
    assert layers["plain"][:2] == layers["sftp"][:2]
    assert not (plain / "bin" / "cryptography").exists()
    assert (sftp / "bin" / "cryptography" / "hazmat").is_dir()
    assert (sftp / "bin" / "nacl").is_dir()

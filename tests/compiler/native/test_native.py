"""Native builds with Nuitka: the cached launcher, the per-workflow module, the image.

The launcher's cold build takes minutes; ``native_cache`` (tests/support/fixtures) keeps
it between runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtara.compiler.native import (
    BINARY_NAME,
    MissingToolError,
    NativeBuild,
    UnavailableImportError,
    build_native,
    check_imports,
    find_toolchain,
)
from runtara.compiler.native.entrypoint import run
from runtara.compiler.native.launcher import (
    image_side_sources,
    launcher_key,
    read_image_side_sources,
)
from runtara.compiler.native.main_guard import expose_main_guard
from runtara.compiler.oci.workflow_image import WorkflowMetadata, build_image, input_schema_digest
from runtara.compiler.progress import BuildEvent, Phase, ToolOutput
from tests.support.services import skip_missing

ROOT = Path(__file__).resolve().parents[3]

#: A stand-in for a generated module: imports the agents, uses TLS and the C json scanner.
STAND_IN = '''
"""Stand-in workflow: reports what the native runtime sees."""

import json
import os
import ssl
import sys

from runtara.agents.catalog import catalog


def main() -> int:
    context = ssl.create_default_context()
    print(json.dumps({
        "marker": MARKER,
        "lang": os.environ.get("LANG"),
        "uid": os.getuid(),
        "agents": sorted(spec.id for spec in catalog().agents.values())[:1],
        "ca_certificates": len(context.get_ca_certs()) > 0,
        "json_scanner": json.scanner.make_scanner.__module__,
        "argv": sys.argv[1:],
    }))
    return 0
'''


def _stand_in(marker: str) -> str:
    return f"MARKER = {marker!r}\n{STAND_IN}"


def _build(native_cache: Path, output: Path, marker: str) -> NativeBuild:
    try:
        find_toolchain()
    except MissingToolError as exc:
        skip_missing("native toolchain", str(exc))
    return build_native(_stand_in(marker), output, cache=native_cache)


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_native_binary_runs_the_workflow_module(native_cache: Path, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    build = _build(native_cache, tmp_path / "bin", marker)

    assert build.binary == tmp_path / "bin" / BINARY_NAME
    assert build.workflow_module.parent == build.directory
    result = subprocess.run(
        [str(build.binary), "--flag"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["marker"] == marker
    assert report["agents"], "the agent catalog is empty in the native runtime"
    assert report["json_scanner"] == "_json"  # the C accelerator is in the launcher
    assert report["argv"] == ["--flag"]

    # a second workflow reuses the launcher: only its module differs (unless the SDK
    # was edited in between, which rightly means a new launcher: a shared dev tree)
    sources = read_image_side_sources()
    other = _build(native_cache, tmp_path / "other", "other")
    if read_image_side_sources() == sources:
        assert other.launcher.dist.parent.name == launcher_key(find_toolchain(), sources)
    assert other.workflow_module.read_bytes() != build.workflow_module.read_bytes()

    # the same generated code again: its module build is reused, Nuitka does not run
    events: list[BuildEvent] = []
    again = build_native(
        _stand_in(marker), tmp_path / "again", cache=native_cache, progress=events.append
    )
    assert Phase("workflow module unchanged: reusing its build") in events
    assert not any(isinstance(event, ToolOutput) for event in events)
    assert again.workflow_module.read_bytes() == build.workflow_module.read_bytes()


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_imports_missing_from_the_launcher_are_refused_before_compiling(
    native_cache: Path, tmp_path: Path
) -> None:
    source = "import json\nimport requests  # not in the runtime\n\ndef main():\n    return 0\n"
    try:
        find_toolchain()
    except MissingToolError as exc:
        skip_missing("native toolchain", str(exc))
    with pytest.raises(UnavailableImportError, match=r"requests \(line 2\)"):
        build_native(source, tmp_path / "bin", cache=native_cache, filename="orders.py")
    assert not (tmp_path / "bin").exists()


@pytest.mark.native
@pytest.mark.docker
@pytest.mark.timeout(1200)
def test_native_image_runs_under_docker(native_cache: Path, tmp_path: Path) -> None:
    """FROM scratch + the rootfs layer: runs as the non-root user, LANG=C, CA bundle found."""
    docker = pytest.importorskip("docker")
    marker = uuid.uuid4().hex
    build = _build(native_cache, tmp_path / "bin", marker)
    tag = f"runtara-test-native-{marker[:12]}:1.0.0"
    image = build_image(
        tmp_path / "image.tar",
        runtime_dir=build.launcher.dist,
        entrypoint=BINARY_NAME,
        workflow_files=[build.workflow_module],
        metadata=WorkflowMetadata("native-test", "1.0.0", input_schema_digest(None), "S"),
        layer_cache=native_cache / "layers",
        ref_name=tag,
        optional=build.launcher.optional_entries,
        carried=build.carried,
    )
    assert build.carried == ()  # no SFTP here: paramiko's extension modules stay out
    client = docker.from_env()
    loaded = client.images.load(image.path.read_bytes())[0]
    try:
        output = client.containers.run(tag, ["--flag"], remove=True, network_mode="none")
        report = json.loads(output)
        assert report["marker"] == marker
        assert report["lang"] == "C"
        assert report["uid"] == 1000
        assert report["ca_certificates"] is True
        assert report["json_scanner"] == "_json"
        # the image ships C.UTF-8: a runner passing a UTF-8 LANG does not crash the binary
        utf8 = client.containers.run(
            tag, remove=True, network_mode="none", environment={"LANG": "C.UTF-8"}
        )
        assert json.loads(utf8)["lang"] == "C.UTF-8"
    finally:
        client.images.remove(loaded.id, force=True)
    assert image.size < 15_000_000, f"image is {image.size} bytes compressed"


def test_check_imports_names_each_missing_module_and_line() -> None:
    source = "import os\nfrom runtara.agents import http\n\nimport yaml\nfrom pydantic import X\n"
    available = {"os", "runtara.agents", "runtara.agents.http"}
    with pytest.raises(UnavailableImportError) as caught:
        check_imports(source, available, "orders.py")
    message = str(caught.value)
    assert message.startswith("orders.py: ")
    assert "yaml (line 4)" in message
    assert "pydantic (line 5)" in message
    assert "os (" not in message
    check_imports("import os\nfrom runtara.agents import http\n", available)  # no error


def test_relative_imports_are_refused() -> None:
    with pytest.raises(UnavailableImportError, match=r"orders\.py:1: relative import"):
        check_imports("from . import x\n", {"x"}, "orders.py")


def test_missing_c_compiler_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(MissingToolError, match="no C compiler found"):
        find_toolchain()


def test_missing_patchelf_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gcc = subprocess.run(["which", "gcc"], capture_output=True, text=True).stdout.strip()
    if not gcc:
        skip_missing("native toolchain", "gcc not installed")
    os.symlink(gcc, tmp_path / "gcc")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="patchelf not found"):
        find_toolchain()


def test_agents_needing_an_excluded_package_are_refused() -> None:
    """An agent needing a package the launcher leaves out is refused at compile time
    (paramiko stands in for such a package: the launcher carries it since issue 16)."""
    source = "from runtara.agents import http, sftp\nfrom runtara.sdk import flow\n"
    available = {"runtara.agents", "runtara.agents.http", "runtara.agents.sftp", "runtara.sdk"}
    available |= {"runtara.sdk.flow"}
    with pytest.raises(UnavailableImportError, match=r"runtara\.agents\.sftp needs paramiko"):
        check_imports(source, available, "orders.py", excluded={"paramiko"})
    check_imports("from runtara.agents import http\n", available, excluded={"paramiko"})


def test_agent_modules_imported_by_name_are_checked() -> None:
    """``from runtara.agents import http`` needs the module ``runtara.agents.http``."""
    with pytest.raises(UnavailableImportError, match=r"runtara\.agents\.http \(line 1\)"):
        check_imports("from runtara.agents import http\n", {"runtara.agents"}, "orders.py")


def test_the_launcher_key_covers_every_image_side_source() -> None:
    """Editing the SDK or an agent must rebuild the launcher: their files are hashed."""
    sources = {path.relative_to(ROOT).as_posix() for path in image_side_sources()}
    assert {
        "runtara/__init__.py",
        "runtara/sdk/__init__.py",
        "runtara/sdk/flow/control.py",
        "runtara/agents/framework.py",
        "runtara/agents/http.py",
        "runtara/compiler/native/entrypoint.py",
    } <= sources


def test_the_launcher_key_covers_the_compiled_third_party_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """paramiko and the extensions it loads are compiled in: upgrading one of them
    (``pip install -U cryptography``) must give a new launcher, not the stale one."""
    from runtara.compiler.native import launcher

    toolchain = SimpleNamespace(nuitka_version="4.3")
    sources = {"runtara/__init__.py": b""}
    installed = launcher.third_party_versions()
    assert installed["paramiko"] != "absent" and installed["cryptography"] != "absent"
    before = launcher_key(toolchain, sources)  # type: ignore[arg-type]
    monkeypatch.setattr(
        launcher, "third_party_versions", lambda: {**installed, "cryptography": "99.0"}
    )
    assert launcher_key(toolchain, sources) != before  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "guard",
    [
        'if __name__ == "__main__":\n    report("ran")\n',
        'if __name__ == "__main__": report("ran")\n',
        'if (\n    __name__\n    == "__main__"\n):\n    report("ran")\n',
    ],
)
def test_the_main_block_becomes_a_function_the_launcher_calls(guard: str) -> None:
    """Compiled and imported, a module is never __main__: its main block must still run."""
    source = f"calls = []\n\ndef report(what):\n    calls.append(what)\n\n{guard}"
    namespace: dict[str, object] = {"__name__": "runtara_workflow"}
    exec(compile(expose_main_guard(source), "workflow.py", "exec"), namespace)
    assert namespace["calls"] == []  # importing does not run the block
    run(SimpleNamespace(**namespace))
    assert namespace["calls"] == ["ran"]


def test_a_module_without_a_main_block_is_left_as_is() -> None:
    source = "def main():\n    return 3\n"
    assert expose_main_guard(source) == source
    assert run(SimpleNamespace(main=lambda: 3)) == 3

"""The daemonless OCI writer: reproducible digests, shared layers, and a real ``docker run``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from runtara.compiler.oci.layer import prune_layer_cache
from runtara.compiler.oci.layout import OciImage, WrittenImage
from runtara.compiler.oci.rootfs import shared_libraries
from runtara.compiler.oci.workflow_image import (
    LABEL_INPUT_SCHEMA_DIGEST,
    LABEL_MEMORY_TIER,
    LABEL_WORKFLOW_NAME,
    LABEL_WORKFLOW_VERSION,
    WorkflowMetadata,
    build_image,
    input_schema_digest,
)
from tests.support.services import skip_missing

HELLO_C = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *ca = getenv("SSL_CERT_FILE");
    FILE *bundle = ca ? fopen(ca, "r") : NULL;
    FILE *workflow = fopen("/opt/runtara/workflow.txt", "r");
    char line[64] = "";
    if (workflow) fgets(line, sizeof line, workflow);
    printf("uid=%d lang=%s ca=%s tmp=%s sqrt=%.1f workflow=%s",
           (int)getuid(), getenv("LANG"), bundle ? "readable" : "missing",
           access("/tmp", W_OK) == 0 ? "writable" : "read-only", sqrt(16.0 * argc), line);
    return 0;
}
"""


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 'runtime': one dynamically linked C program (libc, libm, the loader)."""
    if shutil.which("gcc") is None:
        skip_missing("native toolchain", "gcc not installed")
    root = tmp_path_factory.mktemp("runtime-src")
    (root / "hello.c").write_text(HELLO_C)
    runtime = root / "runtime"
    runtime.mkdir()
    subprocess.run(
        ["gcc", "-O2", "-o", str(runtime / "hello"), str(root / "hello.c"), "-lm"], check=True
    )
    (runtime / "README").write_text("the runtime\n")
    return runtime


def _workflow_file(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "workflow.txt"
    path.write_text(text)
    return path


def _build(
    runtime: Path, workflow: Path, out: Path, cache: Path, name: str = "hello"
) -> WrittenImage:
    metadata = WorkflowMetadata(
        name=name,
        version="1.2.0",
        input_schema_digest=input_schema_digest({"order_id": {"type": "string"}}),
        memory_tier="M",
    )
    return build_image(
        out,
        runtime_dir=runtime,
        entrypoint="hello",
        workflow_files=[workflow],
        metadata=metadata,
        layer_cache=cache,
        ref_name=f"{name}:1.2.0",
    )


def test_same_input_gives_same_digest_whatever_the_mtimes_and_paths(
    runtime_dir: Path, tmp_path: Path
) -> None:
    first = _build(
        runtime_dir,
        _workflow_file(tmp_path / "a", "orders\n"),
        tmp_path / "one.tar",
        tmp_path / "cache-one",
    )
    copy = tmp_path / "elsewhere" / "runtime"
    shutil.copytree(runtime_dir, copy)
    os.utime(copy / "hello", (1_000_000, 1_000_000))
    second = _build(
        copy,
        _workflow_file(tmp_path / "b", "orders\n"),
        tmp_path / "two.tar",
        tmp_path / "cache-two",
    )

    assert second.manifest_digest == first.manifest_digest
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()


def test_a_changed_workflow_changes_only_the_last_layer(runtime_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    orders = _build(
        runtime_dir, _workflow_file(tmp_path / "a", "orders\n"), tmp_path / "a.tar", cache
    )
    invoices = _build(
        runtime_dir,
        _workflow_file(tmp_path / "b", "invoices\n"),
        tmp_path / "b.tar",
        cache,
        name="invoices",
    )

    assert [layer.digest for layer in orders.layers[:2]] == [
        layer.digest for layer in invoices.layers[:2]
    ]
    assert orders.layers[2].digest != invoices.layers[2].digest
    assert orders.manifest_digest != invoices.manifest_digest


def test_layers_hold_no_host_paths_times_or_owners(runtime_dir: Path, tmp_path: Path) -> None:
    image = _build(
        runtime_dir, _workflow_file(tmp_path / "w", "x\n"), tmp_path / "i.tar", tmp_path / "c"
    )
    with OciImage(image.path) as oci:
        for descriptor in oci.blobs[1:]:
            with oci.open_blob(descriptor.digest) as blob, tarfile.open(fileobj=blob) as layer:
                members = layer.getmembers()
            assert members, "empty layer"
            for member in members:
                assert member.mtime == 0
                assert (member.uid, member.gid) in {(0, 0), (1000, 1000)}
                assert member.uname == member.gname == ""
                assert str(tmp_path).lstrip("/") not in member.name
                assert str(tmp_path) not in member.linkname
    names = _layer_names(image, 0)
    assert "etc/passwd" in names
    assert "etc/ssl/certs/ca-certificates.crt" in names
    assert "lib64/ld-linux-x86-64.so.2" in names
    assert any(name.endswith("/libm.so.6") for name in names)
    assert _layer_names(image, 1) >= {"opt/runtara/hello", "opt/runtara/README"}
    assert "opt/runtara/workflow.txt" in _layer_names(image, 2)


def test_archive_reads_back_with_matching_digests(runtime_dir: Path, tmp_path: Path) -> None:
    image = _build(
        runtime_dir, _workflow_file(tmp_path / "w", "x\n"), tmp_path / "i.tar", tmp_path / "c"
    )
    with OciImage(image.path) as oci:
        assert oci.manifest_descriptor.digest == image.manifest_digest
        assert oci.ref_name == "hello:1.2.0"
        for descriptor in oci.blobs:
            content = oci.read_blob(descriptor.digest)
            assert len(content) == descriptor.size
            assert "sha256:" + hashlib.sha256(content).hexdigest() == descriptor.digest
        config = oci.config
    assert config["config"]["Entrypoint"] == ["/opt/runtara/hello"]
    assert config["config"]["User"] == "1000:1000"
    assert "LANG=C" in config["config"]["Env"]
    labels = config["config"]["Labels"]
    assert labels[LABEL_WORKFLOW_NAME] == "hello"
    assert labels[LABEL_WORKFLOW_VERSION] == "1.2.0"
    assert labels[LABEL_MEMORY_TIER] == "M"
    assert labels[LABEL_INPUT_SCHEMA_DIGEST] == input_schema_digest(
        {"order_id": {"type": "string"}}
    )
    assert len(config["rootfs"]["diff_ids"]) == 3


def test_ldd_finds_the_loader_and_libm(runtime_dir: Path) -> None:
    libraries = {path.name for path in shared_libraries([runtime_dir / "hello"])}
    assert {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2"} <= libraries
    assert shared_libraries([runtime_dir / "README"]) == []


def test_unknown_memory_tier_is_refused() -> None:
    with pytest.raises(ValueError, match="memory tier 'XXL'"):
        WorkflowMetadata("w", "1", "sha256:0", memory_tier="XXL")


@pytest.mark.docker
def test_docker_loads_and_runs_the_image(runtime_dir: Path, tmp_path: Path) -> None:
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    tag = f"runtara-test-hello-{uuid.uuid4().hex[:12]}"
    image = _build(
        runtime_dir,
        _workflow_file(tmp_path / "w", "orders-v1\n"),
        tmp_path / "i.tar",
        tmp_path / "c",
        name=tag,
    )
    loaded = client.images.load(image.path.read_bytes())
    try:
        assert loaded[0].id == image.config_digest
        assert f"{tag}:1.2.0" in loaded[0].tags
        output = client.containers.run(f"{tag}:1.2.0", remove=True, network_mode="none")
        assert output.decode() == (
            "uid=1000 lang=C ca=readable tmp=writable sqrt=4.0 workflow=orders-v1\n"
        )
        assert loaded[0].labels[LABEL_WORKFLOW_NAME] == tag
    finally:
        client.images.remove(loaded[0].id, force=True)


def _layer_names(image: WrittenImage, index: int) -> set[str]:
    with (
        OciImage(image.path) as oci,
        oci.open_blob(image.layers[index].digest) as blob,
        tarfile.open(fileobj=blob) as layer,
    ):
        return set(layer.getnames())


def test_the_layer_cache_keeps_only_recent_layers(runtime_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    images = [
        _build(
            runtime_dir, _workflow_file(tmp_path / str(n), f"{n}\n"), tmp_path / f"{n}.tar", cache
        )
        for n in range(3)
    ]
    prune_layer_cache(cache, keep=3)  # the newest image's three layers

    blobs = {path.name for path in cache.iterdir() if "." not in path.name}
    assert blobs == {layer.digest.removeprefix("sha256:") for layer in images[-1].layers}
    assert len(list(cache.glob("*.layer.json"))) == 3


def test_optional_runtime_entries_are_a_layer_of_their_own_when_carried(
    runtime_dir: Path, tmp_path: Path
) -> None:
    """What only some workflows load (paramiko's extensions) stays out of the shared
    runtime layer; an image carrying it has one more layer, the rest identical."""
    runtime = tmp_path / "runtime"
    shutil.copytree(runtime_dir, runtime)
    (runtime / "crypto").mkdir()
    (runtime / "crypto" / "_rust.so").write_bytes(b"\x7fELF-ish, large")
    (runtime / "_cffi.so").write_bytes(b"more")
    metadata = WorkflowMetadata("orders", "1.0.0", input_schema_digest(None))
    images = {}
    for name, carried in (("plain", ()), ("sftp", ("crypto", "_cffi.so"))):
        images[name] = build_image(
            tmp_path / f"{name}.tar",
            runtime_dir=runtime,
            entrypoint="hello",
            workflow_files=[_workflow_file(tmp_path / name, "orders\n")],
            metadata=metadata,
            layer_cache=tmp_path / "cache",
            optional=("crypto", "_cffi.so"),
            carried=carried,
        )
    plain, sftp = ([layer.digest for layer in images[name].layers] for name in ("plain", "sftp"))
    assert len(plain) == 3 and len(sftp) == 4
    assert plain[:2] == sftp[:2] and plain[2] == sftp[3]
    assert "opt/runtara/hello" in _layer_names(images["plain"], 1)
    assert not {
        name for name in _layer_names(images["plain"], 1) if "crypto" in name or "cffi" in name
    }
    assert {"opt/runtara/crypto/_rust.so", "opt/runtara/_cffi.so"} <= _layer_names(
        images["sftp"], 2
    )

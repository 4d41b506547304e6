"""``runtara push`` and the registry client against a real Distribution registry."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.compiler.oci.blob_index import BlobIndex
from runtara.compiler.oci.credentials import Credentials
from runtara.compiler.oci.layout import OciImage
from runtara.compiler.oci.push import PushResult, Registry, RegistryError
from runtara.compiler.oci.reference import parse_reference
from runtara.compiler.oci.workflow_image import WorkflowMetadata, build_image, input_schema_digest
from tests.support.registry_server import (
    PASSWORD,
    USERNAME,
    LocalRegistry,
    htpasswd_file,
    run_registry,
)
from tests.support.token_server import ISSUER, SERVICE, token_server

GOOD = Credentials(USERNAME, PASSWORD)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def image_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-layer image whose runtime layer is ~300 KB of incompressible bytes."""
    root = tmp_path_factory.mktemp("image")
    runtime = root / "runtime"
    runtime.mkdir()
    (runtime / "entry").write_text("#!/bin/sh\necho hi\n")
    (runtime / "payload.bin").write_bytes(os.urandom(300_000))
    workflow = root / "workflow.txt"
    workflow.write_text("orders\n")
    build_image(
        root / "image.tar",
        runtime_dir=runtime,
        entrypoint="entry",
        workflow_files=[workflow],
        metadata=WorkflowMetadata("orders", "1.0.0", input_schema_digest(None)),
        layer_cache=root / "cache",
        ref_name="orders:1.0.0",
    )
    return root / "image.tar"


@pytest.fixture(scope="module")
def http_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    directory = tmp_path_factory.mktemp("registry-http")
    auth = f"  htpasswd:\n    realm: runtara-test\n    path: {htpasswd_file(directory)}\n"
    with run_registry(directory, auth=auth) as registry:
        yield registry


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    directory = tmp_path_factory.mktemp("registry-tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    auth = f"  htpasswd:\n    realm: runtara-test\n    path: {htpasswd_file(directory)}\n"
    with run_registry(directory, auth=auth, tls=(cert, key, ca_file)) as registry:
        yield registry


def _repository() -> str:
    return f"runtara-test/{uuid.uuid4().hex[:10]}"


def _push(
    registry: LocalRegistry, image_tar: Path, repository: str, **options: object
) -> PushResult:
    reference = parse_reference(f"{registry.host}/{repository}:1.0.0")
    options.setdefault("credentials", GOOD)
    options.setdefault("insecure", registry.scheme == "http")
    with Registry(reference, **options) as client, OciImage(image_tar) as image:  # type: ignore[arg-type]
        return client.push(image)


def _assert_pulls_back(
    registry: LocalRegistry, image_tar: Path, repository: str, **options: object
) -> None:
    """The registry serves the same manifest and the same blob bytes that were pushed."""
    reference = parse_reference(f"{registry.host}/{repository}:1.0.0")
    options.setdefault("insecure", registry.scheme == "http")
    with Registry(reference, credentials=GOOD, **options) as client, OciImage(image_tar) as image:  # type: ignore[arg-type]
        manifest, digest = client.get_manifest()
        assert manifest == image.manifest_bytes
        assert digest == image.manifest_descriptor.digest
        for descriptor in image.blobs:
            blob = client.get_blob(descriptor.digest)
            assert "sha256:" + hashlib.sha256(blob).hexdigest() == descriptor.digest
            assert blob == image.read_blob(descriptor.digest)


@pytest.mark.parametrize("chunk_size", [16 << 20, 64 << 10], ids=["monolithic", "chunked"])
def test_push_then_pull_back_gives_the_same_digests(
    http_registry: LocalRegistry, image_tar: Path, chunk_size: int
) -> None:
    repository = _repository()
    result = _push(http_registry, image_tar, repository, chunk_size=chunk_size)

    assert [blob.action for blob in result.blobs] == ["uploaded"] * 4
    assert max(blob.size for blob in result.blobs) > 64 << 10  # the chunked case has chunks
    _assert_pulls_back(http_registry, image_tar, repository)


def test_a_second_push_sends_no_blob(http_registry: LocalRegistry, image_tar: Path) -> None:
    repository = _repository()
    first = _push(http_registry, image_tar, repository)
    second = _push(http_registry, image_tar, repository)

    assert second.manifest_digest == first.manifest_digest
    assert [blob.action for blob in second.blobs] == ["exists"] * 4
    assert second.uploaded_bytes == 0


def test_blobs_known_in_another_repository_are_mounted(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path
) -> None:
    index = BlobIndex(tmp_path / "blobs.json")
    _push(http_registry, image_tar, "runtara-test/source", blob_index=index)
    target = _repository()
    result = _push(http_registry, image_tar, target, blob_index=index)

    assert {blob.action for blob in result.blobs} == {"mounted"}
    _assert_pulls_back(http_registry, image_tar, target)


def test_wrong_password_is_a_clear_error(http_registry: LocalRegistry, image_tar: Path) -> None:
    with pytest.raises(RegistryError, match=r"refused the credentials for user 'pusher'"):
        _push(http_registry, image_tar, _repository(), credentials=Credentials(USERNAME, "nope"))


def test_missing_credentials_is_a_clear_error(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(RegistryError, match="requires authentication"):
        _push(http_registry, image_tar, _repository(), credentials=None)


def test_credentials_come_from_docker_config(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    config = {"auths": {f"http://{http_registry.host}": {"auth": auth}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))

    result = _push(http_registry, image_tar, _repository(), credentials=None)
    assert len(result.blobs) == 4


def test_push_over_tls_with_a_private_ca(tls_registry: LocalRegistry, image_tar: Path) -> None:
    assert tls_registry.ca_file is not None
    trusted = ssl.create_default_context(cafile=str(tls_registry.ca_file))
    repository = _repository()
    result = _push(tls_registry, image_tar, repository, verify=trusted)

    assert len(result.blobs) == 4
    _assert_pulls_back(tls_registry, image_tar, repository, verify=trusted)


def test_tls_with_an_unknown_ca_is_refused_unless_insecure(
    tls_registry: LocalRegistry, image_tar: Path
) -> None:
    with pytest.raises(RegistryError, match="CERTIFICATE_VERIFY_FAILED"):
        _push(tls_registry, image_tar, _repository(), retries=0)
    result = _push(tls_registry, image_tar, _repository(), insecure=True)
    assert len(result.blobs) == 4


def test_bearer_token_flow(tmp_path: Path, image_tar: Path) -> None:
    with token_server(USERNAME, PASSWORD) as (realm, issuer):
        bundle = tmp_path / "token-ca.pem"
        bundle.write_bytes(issuer.root_bundle_pem())
        auth = (
            f"  token:\n    realm: {realm}\n    service: {SERVICE}\n"
            f"    issuer: {ISSUER}\n    rootcertbundle: {bundle}\n"
        )
        with run_registry(tmp_path, auth=auth) as registry:
            repository = _repository()
            result = _push(registry, image_tar, repository)
            assert len(result.blobs) == 4
            assert [f"repository:{repository}:pull,push"] in issuer.requests
            _assert_pulls_back(registry, image_tar, repository)
            with pytest.raises(RegistryError, match="refused the credentials"):
                _push(registry, image_tar, repository, credentials=Credentials(USERNAME, "x"))


@contextlib.contextmanager
def _flaky_proxy(
    registry: LocalRegistry, every: int = 3
) -> Iterator[tuple[LocalRegistry, list[int]]]:
    """A proxy in front of ``registry`` whose every ``every``-th request answers 503;
    yields it as a registry, and the count of requests (one item)."""
    count = [0]

    def flaky(request: Request) -> Response:
        count[0] += 1
        if count[0] % every == 0:
            return Response("busy", status=503)
        upstream = httpx.request(
            request.method,
            f"{registry.url}{request.full_path.rstrip('?')}",
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            content=request.get_data(),
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() != "content-length"]
        return Response(upstream.content, status=upstream.status_code, headers=headers)

    with HTTPServer(host="127.0.0.1", port=0) as proxy:
        proxy.expect_request("").respond_with_handler(flaky)
        proxy.no_handler_status_code = 500
        yield LocalRegistry(f"127.0.0.1:{proxy.port}", "http", None, registry.log), count


def test_transient_errors_are_retried(http_registry: LocalRegistry, image_tar: Path) -> None:
    """Every third request through a flaky proxy answers 503; the push still succeeds."""
    with _flaky_proxy(http_registry) as (proxy_registry, count):
        repository = _repository()
        result = _push(proxy_registry, image_tar, repository, backoff=0.01)
    assert count[0] > 6
    assert len(result.blobs) == 4
    _assert_pulls_back(http_registry, image_tar, repository)


def test_cli_push_announces_each_retry_with_its_cause_and_wait(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path
) -> None:
    """Not a terminal: one line per retry (the registry's answer and the wait) and per
    blob; ``--quiet`` keeps only the result."""
    with _flaky_proxy(http_registry, every=4) as (proxy_registry, _count):
        reference = f"{proxy_registry.host}/{_repository()}:1.0.0"
        login = ("--username", USERNAME, "--password-stdin")
        pushed = _cli("push", str(image_tar), reference, *login, stdin=PASSWORD, cache=tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        retries = [line for line in pushed.stderr.splitlines() if line.startswith("retrying")]
        assert retries, pushed.stderr
        host = proxy_registry.host.replace(".", r"\.")
        for line in retries:
            assert re.fullmatch(rf"retrying in \d+\.\d s: registry {host}: \S+ /v2/\S*: .*", line)
        # one line per blob, its whole digest (for copying)
        assert re.search(r"^uploaded  sha256:[0-9a-f]{64}  \d", pushed.stderr, re.M), pushed.stderr
        assert "\x1b" not in pushed.stderr

        again = f"{proxy_registry.host}/{_repository()}:1.0.0"
        quiet = _cli(
            "push", str(image_tar), again, *login, "--quiet", stdin=PASSWORD, cache=tmp_path
        )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.startswith(f"pushed {again}@sha256:")


def test_unreachable_registry_is_a_clear_error(image_tar: Path) -> None:
    reference = parse_reference("127.0.0.1:9/runtara-test/x:1")
    with (
        Registry(reference, credentials=GOOD, insecure=True) as client,
        OciImage(image_tar) as image,
        pytest.raises(RegistryError, match=r"cannot reach registry 127\.0\.0\.1:9"),
    ):
        client.push(image)


def _cli(*args: str, cache: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "RUNTARA_CACHE_DIR": str(cache),
            "DOCKER_CONFIG": str(cache),
            "PYTHONPATH": str(ROOT),  # the checkout under test, whatever is installed
        },
    )


def test_cli_push_succeeds_and_a_wrong_password_fails_cleanly(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path
) -> None:
    reference = f"{http_registry.host}/{_repository()}:1.0.0"
    pushed = _cli(
        "push",
        str(image_tar),
        reference,
        "--username",
        USERNAME,
        "--password-stdin",
        stdin=PASSWORD,
        cache=tmp_path,
    )
    assert pushed.returncode == 0, pushed.stderr
    with OciImage(image_tar) as image:
        assert image.manifest_descriptor.digest in pushed.stdout

    refused = _cli(
        "push",
        str(image_tar),
        reference,
        "--username",
        USERNAME,
        "--password-stdin",
        stdin="bad\n",
        cache=tmp_path,
    )
    assert refused.returncode == 1
    assert "refused the credentials" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_cli_push_of_a_missing_archive_fails_cleanly(tmp_path: Path) -> None:
    result = _cli("push", str(tmp_path / "nope.tar"), "127.0.0.1:5000/x:1", cache=tmp_path)
    assert result.returncode == 2  # a missing file: the exit table's "could not start"
    assert "nope.tar" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_push_of_a_bad_reference_fails_cleanly(image_tar: Path, tmp_path: Path) -> None:
    result = _cli("push", str(image_tar), "127.0.0.1:5000/Bad Name:1", cache=tmp_path)
    assert result.returncode == 2  # a bad argument
    assert "invalid repository name" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.docker
def test_docker_pulls_a_pushed_image(http_registry: LocalRegistry, tmp_path: Path) -> None:
    """Docker (20.10) accepts what was pushed: pull by tag, same image id as the config."""
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "entry").write_text("not run\n")
    workflow = tmp_path / "workflow.txt"
    workflow.write_text(uuid.uuid4().hex)
    written = build_image(
        tmp_path / "image.tar",
        runtime_dir=runtime,
        entrypoint="entry",
        workflow_files=[workflow],
        metadata=WorkflowMetadata("pulled", "1.0.0", input_schema_digest(None)),
        layer_cache=tmp_path / "cache",
    )
    repository = _repository()
    _push(http_registry, written.path, repository)
    image = client.images.pull(
        f"{http_registry.host}/{repository}",
        tag="1.0.0",
        auth_config={"username": USERNAME, "password": PASSWORD},
    )
    try:
        assert image.id == written.config_digest
    finally:
        client.images.remove(image.id, force=True)


def test_cli_push_to_an_unknown_registry_fails_cleanly(image_tar: Path, tmp_path: Path) -> None:
    result = _cli("push", str(image_tar), "registry.invalid/team/orders:1", cache=tmp_path)
    assert result.returncode == 1
    assert "cannot reach registry registry.invalid" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_push_accepts_a_compile_output_directory(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path
) -> None:
    """``runtara push DIR REF`` finds DIR/image.tar (what ``runtara compile`` writes)."""
    reference = f"{http_registry.host}/{_repository()}:2.0.0"
    directory = _compile_output(image_tar, tmp_path / "build")
    result = _cli(
        "push", str(directory), reference, "--username", USERNAME, "--password-stdin",
        "--format", "json", stdin=PASSWORD, cache=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    with OciImage(image_tar) as image:
        assert report["digest"] == image.manifest_descriptor.digest
    assert report["reference"] == reference
    assert {blob["action"] for blob in report["blobs"]} <= {"uploaded", "exists", "mounted"}


def _compile_output(image_tar: Path, directory: Path) -> Path:
    """A finished ``runtara compile`` output directory: image.tar plus its build.json."""
    directory.mkdir()
    shutil.copy(image_tar, directory / "image.tar")
    with OciImage(image_tar) as image:
        digest = image.manifest_descriptor.digest
    record = {
        "workflow": "orders",
        "tag": "orders:1.0.0",
        "image": "image.tar",
        "image_digest": digest,
    }
    (directory / "build.json").write_text(json.dumps(record))
    return directory


def test_cli_push_refuses_a_directory_whose_last_compile_failed(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path
) -> None:
    """A compile that failed removed build.json: the image.tar left there is an earlier
    build, and pushing it under the new tag would ship the wrong thing with exit 0."""
    directory = _compile_output(image_tar, tmp_path / "build")
    (directory / "build.json").unlink()
    reference = f"{http_registry.host}/{_repository()}:3.0.0"
    result = _cli(
        "push", str(directory), reference, "--username", USERNAME, "--password-stdin",
        stdin=PASSWORD, cache=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2  # not a pushable image: the exit table's "could not start"
    assert "last `runtara compile` did not finish" in result.stderr
    assert "Traceback" not in result.stderr


def _credential_helper(directory: Path, name: str, username: str, secret: str) -> Path:
    """A ``docker-credential-NAME`` program speaking Docker's helper protocol: ``get``
    reads the server on stdin and prints its credentials, or exits 1 when it has none."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(exist_ok=True)
    helper = bin_dir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": "", "Username": username, "Secret": secret})
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        'read server; echo "$server" >> "$(dirname "$0")/asked"\n'
        f"echo '{answer}'\n"
    )
    helper.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_credentials_come_from_a_docker_credential_helper(
    key: str,
    http_registry: LocalRegistry,
    image_tar: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As Docker: credHelpers[registry], else credsStore, asked with the registry host."""
    bin_dir = _credential_helper(tmp_path, "runtaratest", USERNAME, PASSWORD)
    config: dict[str, object] = {"auths": {http_registry.host: {}}}
    config[key] = {http_registry.host: "runtaratest"} if key == "credHelpers" else "runtaratest"
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    result = _push(http_registry, image_tar, _repository(), credentials=None)
    assert len(result.blobs) == 4
    assert (bin_dir / "asked").read_text().split() == [http_registry.host]


def test_a_missing_credential_helper_is_named(
    http_registry: LocalRegistry, image_tar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "nosuchhelper"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(RegistryError, match="docker-credential-nosuchhelper"):
        _push(http_registry, image_tar, _repository(), credentials=None)


def test_a_registry_that_never_accepts_the_connection_fails_without_retrying(
    image_tar: Path,
) -> None:
    """A host that drops packets: one bounded connect attempt per scheme, no retry loop
    (it used to take 5 attempts x 60 s before saying anything)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        host, port = listener.getsockname()
        # fill the accept queue so that further SYNs are dropped, as by a black hole
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, port))
            fillers.append(filler)
        retries: list[str] = []
        reference = parse_reference(f"{host}:{port}/runtara-test/x:1")
        try:
            with (
                Registry(
                    reference, connect_timeout=0.5, on_retry=lambda cause, _w: retries.append(cause)
                ) as client,
                OciImage(image_tar) as image,
                pytest.raises(RegistryError, match="cannot reach registry"),
            ):
                client.push(image)
        finally:
            for filler in fillers:
                filler.close()
    assert retries == []

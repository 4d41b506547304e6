"""Image references and stored credentials, as Docker spells and stores them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from runtara.compiler.oci.auth import parse_challenge
from runtara.compiler.oci.credentials import docker_config_credentials
from runtara.compiler.oci.reference import InvalidReference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("acme/orders:1.0", "docker.io", "acme/orders", "1.0", None),
        ("localhost:5000/orders", "localhost:5000", "orders", "latest", None),
        ("127.0.0.1:5000/team/orders:v2", "127.0.0.1:5000", "team/orders", "v2", None),
        ("ghcr.io/acme/orders@" + DIGEST, "ghcr.io", "acme/orders", None, DIGEST),
        ("ghcr.io/acme/orders:1@" + DIGEST, "ghcr.io", "acme/orders", "1", DIGEST),
    ],
)
def test_references_parse_like_docker(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_reference(text)
    assert (reference.registry, reference.repository) == (registry, repository)
    assert (reference.tag, reference.digest) == (tag, digest)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Orders:1", "invalid repository name"),
        ("localhost:5000/orders:bad tag", "invalid tag"),
        ("orders@sha256:123", "digest must be"),
        ("localhost:5000/", "invalid repository name"),
    ],
)
def test_bad_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message):
        parse_reference(text)


@pytest.mark.parametrize(
    ("text", "loopback"),
    [
        ("localhost:5000/a", True),
        ("127.0.0.1:5000/a", True),
        ("[::1]:5000/a", True),
        ("registry.example.com/a", False),
        ("10.0.0.1:5000/a", False),
    ],
)
def test_loopback_registries_are_recognised(text: str, loopback: bool) -> None:
    assert parse_reference(text).is_loopback is loopback


def test_docker_config_credentials(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"ada:pa:ss").decode()
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:hubpass").decode()},
            "https://registry.example.com:5000": {"auth": encoded},
            "plain.example.com": {"username": "bob", "password": "pw"},
            "broken.example.com": {"auth": "%%%"},
        }
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))

    hub = docker_config_credentials("docker.io", path)
    assert hub is not None and (hub.username, hub.password) == ("hub", "hubpass")
    example = docker_config_credentials("registry.example.com:5000", path)
    assert example is not None and (example.username, example.password) == ("ada", "pa:ss")
    plain = docker_config_credentials("plain.example.com", path)
    assert plain is not None and plain.username == "bob"
    assert "pw" not in repr(plain)
    assert docker_config_credentials("broken.example.com", path) is None
    assert docker_config_credentials("other.example.com", path) is None
    assert docker_config_credentials("x", tmp_path / "missing.json") is None


def test_bearer_challenge_parsing() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:acme/orders:pull,push"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:acme/orders:pull,push",
    }

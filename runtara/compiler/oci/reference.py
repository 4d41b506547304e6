"""Image references as Docker spells them: ``[registry/]repository[:tag][@digest]``."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from runtara.errors import Error

DOCKER_HUB = "docker.io"
#: The API host behind the Docker Hub name.
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class InvalidReference(Error, ValueError):
    """A reference that is not ``[registry/]repository[:tag][@digest]``."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def is_loopback(self) -> bool:
        """Loopback registries are plain-HTTP-allowed, as Docker allows them by default."""
        if self.registry.startswith("["):
            host = self.registry[1 : self.registry.find("]")]
        else:
            host = self.registry.split(":")[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, default_tag: str = "latest") -> ImageReference:
    """Parse a reference; the registry is the first component when it looks like a host."""
    remainder, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReference(f"{text!r}: digest must be sha256:<64 hex digits>")
    first, slash, rest = remainder.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, remainder
    name, tag = path, None
    last_colon = path.rfind(":")
    if last_colon > path.rfind("/"):
        name, tag = path[:last_colon], path[last_colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"{text!r}: invalid tag {tag!r}")
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    if not _REPOSITORY.match(name):
        raise InvalidReference(
            f"{text!r}: invalid repository name {name!r} "
            "(lowercase letters, digits and separators . _ - /)"
        )
    if tag is None and not digest:
        tag = default_tag
    return ImageReference(registry, name, tag, digest or None)

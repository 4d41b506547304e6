"""Push OCI images to a registry over the distribution API (no Docker daemon involved).

``push`` sends every blob the registry does not have yet (a HEAD first; a
cross-repository mount when another repository of the registry is known to hold it;
otherwise an upload, in one request or in chunks), then PUTs the manifest under the
tag. Authentication follows the registry's challenge (``runtara.compiler.oci.auth``);
transient failures (5xx, 429, a dropped connection) are retried with backoff.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, TypeVar
from urllib.parse import urljoin

import httpx

from runtara.compiler.oci.auth import AuthenticationError, RegistryAuth
from runtara.compiler.oci.blob_index import BlobIndex
from runtara.compiler.oci.credentials import (
    CredentialHelperError,
    Credentials,
    docker_config_credentials,
)
from runtara.compiler.oci.layout import (
    MANIFEST_MEDIA_TYPE,
    Descriptor,
    ImageFormatError,
    OciImage,
)
from runtara.compiler.oci.reference import ImageReference, parse_reference
from runtara.errors import Error

__all__ = [
    "AuthenticationError",
    "BlobPush",
    "ImageFormatError",
    "PushResult",
    "Registry",
    "RegistryError",
    "TransientRegistryError",
    "push_image",
]

#: Blobs up to this size go in one request; bigger ones in chunks of this size.
DEFAULT_CHUNK_SIZE = 16 << 20
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
ACCEPTED_MANIFESTS = ", ".join(
    [
        MANIFEST_MEDIA_TYPE,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)

T = TypeVar("T")
BlobAction = Literal["exists", "mounted", "uploaded"]


class RegistryError(Error):
    """A push or pull that failed for a reason the user can act on (one line)."""


class TransientRegistryError(RegistryError):
    """A failure worth retrying: a 5xx or 429 answer, or a dropped connection."""


@dataclass(frozen=True)
class BlobPush:
    digest: str
    size: int
    action: BlobAction


@dataclass(frozen=True)
class PushResult:
    reference: ImageReference
    manifest_digest: str
    blobs: list[BlobPush] = field(default_factory=list)

    @property
    def uploaded_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs if blob.action == "uploaded")


class Registry:
    """A client of one registry host. Use as a context manager.

    ``insecure`` allows plain HTTP and unverified TLS (HTTPS is tried first, as Docker
    does).
    """

    def __init__(
        self,
        reference: ImageReference,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        verify: ssl.SSLContext | bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        retries: int = 4,
        backoff: float = 0.5,
        blob_index: BlobIndex | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        on_retry: Callable[[str, float], None] | None = None,
        on_upload: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.reference = reference
        self.insecure = insecure
        self.chunk_size = chunk_size
        self.retries = retries
        self.backoff = backoff
        self.blob_index = blob_index
        try:
            credentials = credentials or docker_config_credentials(reference.registry)
        except CredentialHelperError as exc:
            raise RegistryError(str(exc)) from None
        self.auth = RegistryAuth(credentials, reference.registry)
        self._verify = verify
        # A host that drops packets must fail in seconds, not after 5 x 60 s of retries.
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._on_retry = on_retry
        self._on_upload = on_upload
        self._client = self._make_client(verify)
        self.base_url = f"https://{reference.api_host}"
        self._ready = False

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _make_client(self, verify: ssl.SSLContext | bool) -> httpx.Client:
        return httpx.Client(
            auth=self.auth,
            verify=verify,
            timeout=self._timeout,
            follow_redirects=True,
            headers={"User-Agent": "runtara"},
        )

    # --- the distribution API ---------------------------------------------------

    def ping(self) -> None:
        """Check that the registry answers the v2 API, choosing HTTPS or (insecure) HTTP.

        Done once, before the first call that needs it. An insecure registry is tried
        as Docker does: verified TLS, unverified TLS, then plain HTTP.
        """
        if self._ready:
            return
        host = self.reference.api_host
        attempts: list[tuple[str, ssl.SSLContext | bool]] = [(f"https://{host}", self._verify)]
        if self.insecure:
            attempts += [(f"https://{host}", False), (f"http://{host}", False)]
        for number, (base_url, verify) in enumerate(attempts, start=1):
            if number > 1:
                self._client.close()
                self._client = self._make_client(verify)
            self.base_url = base_url
            try:
                self._retrying(
                    lambda: self._request("GET", "/v2/", ok=(200,)), connect_retries=False
                )
            except RegistryError as exc:
                unreachable = isinstance(
                    exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProtocolError
                )
                if number == len(attempts) or not unreachable:
                    raise
                continue
            self._ready = True
            return

    def push(
        self, image: OciImage, *, progress: Callable[[BlobPush], None] | None = None
    ) -> PushResult:
        """Push ``image`` under this client's reference (its tag, or its digest)."""
        repository = self.reference.repository
        self.auth.scopes = {f"repository:{repository}:pull,push"}
        self.ping()
        pushed: list[BlobPush] = []
        for descriptor in image.blobs:
            action = self._push_blob(image, descriptor)
            result = BlobPush(descriptor.digest, descriptor.size, action)
            pushed.append(result)
            if self.blob_index is not None:
                self.blob_index.record(self.reference.registry, descriptor.digest, repository)
            if progress is not None:
                progress(result)
        tag = self.reference.tag or image.manifest_descriptor.digest
        digest = self._retrying(
            lambda: self.put_manifest(
                tag, image.manifest_bytes, image.manifest_descriptor.media_type
            )
        )
        if digest != image.manifest_descriptor.digest:
            raise RegistryError(
                f"registry stored the manifest as {digest}, expected {image.manifest_descriptor.digest}"
            )
        return PushResult(self.reference, digest, pushed)

    def blob_exists(self, digest: str) -> bool:
        response = self._request(
            "HEAD", f"/v2/{self.reference.repository}/blobs/{digest}", ok=(200, 404)
        )
        return response.status_code == 200

    def mount_blob(self, digest: str, source_repository: str) -> bool:
        """Link a blob from another repository of this registry; False if it did not."""
        self.auth.scopes.add(f"repository:{source_repository}:pull")
        response = self._request(
            "POST",
            f"/v2/{self.reference.repository}/blobs/uploads/",
            params={"mount": digest, "from": source_repository},
            ok=(201, 202),
        )
        if response.status_code == 201:
            return True
        self._cancel_upload(response)
        return False

    def upload_blob(
        self, digest: str, size: int, open_blob: Callable[[], AbstractContextManager[IO[bytes]]]
    ) -> None:
        """Upload one blob: monolithic (POST + PUT) up to ``chunk_size``, else chunked
        (POST, a PATCH per chunk, PUT)."""
        start = self._request("POST", f"/v2/{self.reference.repository}/blobs/uploads/", ok=(202,))
        location = self._location(start)
        with open_blob() as blob:
            if size <= self.chunk_size:
                self._request(
                    "PUT",
                    location,
                    params={"digest": digest},
                    content=blob.read(),
                    headers={"Content-Type": "application/octet-stream"},
                    ok=(201,),
                )
                self._uploaded(digest, size, size)
                return
            offset = 0
            for chunk in _chunks(blob, self.chunk_size):
                response = self._request(
                    "PATCH",
                    location,
                    content=chunk,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                    },
                    ok=(202,),
                )
                offset += len(chunk)
                self._uploaded(digest, offset, size)
                location = self._location(response)
        self._request("PUT", location, params={"digest": digest}, ok=(201,))

    def _uploaded(self, digest: str, sent: int, total: int) -> None:
        if self._on_upload is not None:
            self._on_upload(digest, sent, total)

    def put_manifest(self, reference: str, manifest: bytes, media_type: str) -> str:
        response = self._request(
            "PUT",
            f"/v2/{self.reference.repository}/manifests/{reference}",
            content=manifest,
            headers={"Content-Type": media_type},
            ok=(201,),
        )
        return response.headers.get("Docker-Content-Digest", "")

    def get_manifest(self, reference: str | None = None) -> tuple[bytes, str]:
        """The manifest under a tag or digest (default: this client's reference)."""
        reference = reference or self.reference.digest or self.reference.tag or "latest"
        self.ping()
        response = self._retrying(
            lambda: self._request(
                "GET",
                f"/v2/{self.reference.repository}/manifests/{reference}",
                headers={"Accept": ACCEPTED_MANIFESTS},
                ok=(200,),
            )
        )
        return response.content, response.headers.get("Docker-Content-Digest", "")

    def get_blob(self, digest: str) -> bytes:
        self.ping()
        response = self._retrying(
            lambda: self._request(
                "GET", f"/v2/{self.reference.repository}/blobs/{digest}", ok=(200,)
            )
        )
        return response.content

    # --- plumbing -------------------------------------------------------------------

    def _push_blob(self, image: OciImage, descriptor: Descriptor) -> BlobAction:
        if self._retrying(lambda: self.blob_exists(descriptor.digest)):
            return "exists"
        if any(
            self._try_mount(descriptor.digest, source)
            for source in self._mount_sources(descriptor.digest)
        ):
            return "mounted"
        self._retrying(
            lambda: self.upload_blob(
                descriptor.digest, descriptor.size, lambda: image.open_blob(descriptor.digest)
            )
        )
        return "uploaded"

    def _try_mount(self, digest: str, source: str) -> bool:
        return self._retrying(lambda: self.mount_blob(digest, source))

    def _mount_sources(self, digest: str) -> list[str]:
        if self.blob_index is None:
            return []
        known = self.blob_index.repositories(self.reference.registry, digest)
        return [repository for repository in known if repository != self.reference.repository]

    def _request(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...],
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        target = httpx.URL(urljoin(self.base_url + "/", url))
        if params:  # merged: upload locations carry their own query (the upload state)
            target = target.copy_merge_params(params)
        try:
            response = self._client.request(method, target, content=content, headers=headers)
        except AuthenticationError as exc:
            raise RegistryError(str(exc)) from exc
        except httpx.TransportError as exc:
            problem = f"cannot reach registry {self.reference.registry}: {_describe(exc)}"
            if _is_tls_failure(exc):
                raise RegistryError(problem) from exc
            raise TransientRegistryError(problem) from exc
        if response.status_code in ok:
            return response
        message = _error_message(response)
        where = f"{method} {target.path}"
        if response.status_code in TRANSIENT_STATUS:
            raise TransientRegistryError(f"registry {self.reference.registry}: {where}: {message}")
        raise RegistryError(f"registry {self.reference.registry}: {where}: {message}")

    def _retrying(self, operation: Callable[[], T], *, connect_retries: bool = True) -> T:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return operation()
            except TransientRegistryError as exc:
                unreachable = isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt == self.retries or (unreachable and not connect_retries):
                    raise
                if self._on_retry is not None:
                    self._on_retry(str(exc), delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _location(self, response: httpx.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(
                f"registry {self.reference.registry}: upload answer without a Location header"
            )
        return urljoin(str(response.url), location)

    def _cancel_upload(self, response: httpx.Response) -> None:
        location = response.headers.get("Location")
        if location:  # an abandoned upload session also expires on the registry by itself
            with suppress(httpx.HTTPError):
                self._client.delete(urljoin(str(response.url), location))


def image_source(path: Path) -> Path:
    """The image archive or layout that ``path`` names: a ``runtara compile`` output
    directory (its ``image.tar``), an OCI layout directory, or an archive file."""
    if path.is_dir():
        if (path / "index.json").is_file():
            return path
        if (path / "image.tar").is_file():
            if not (path / "build.json").is_file():
                # compile removes build.json first and writes it last: without it the
                # image.tar here is an earlier build, not the one last asked for.
                raise ImageFormatError(
                    f"{path}: its last `runtara compile` did not finish (no build.json), "
                    "so image.tar is from an earlier build; compile again before pushing"
                )
            return path / "image.tar"
        raise ImageFormatError(f"{path}: neither an OCI layout nor a directory with image.tar")
    if not path.exists():
        raise ImageFormatError(f"{path}: no such file or directory")
    return path


def push_image(
    source: Path,
    reference: str,
    *,
    credentials: Credentials | None = None,
    insecure: bool = False,
    blob_index: BlobIndex | None = None,
    progress: Callable[[BlobPush], None] | None = None,
    on_retry: Callable[[str, float], None] | None = None,
    on_upload: Callable[[str, int, int], None] | None = None,
) -> PushResult:
    """Push the image at ``source`` to ``reference``; loopback registries may use HTTP.

    Raises ``ImageFormatError``, ``ReferenceError`` or ``RegistryError``, each with a
    message that names what is wrong.
    """
    target = parse_reference(reference)
    with (
        OciImage(image_source(source)) as image,
        Registry(
            target,
            credentials=credentials,
            insecure=insecure or target.is_loopback,
            blob_index=blob_index,
            on_retry=on_retry,
            on_upload=on_upload,
        ) as registry,
    ):
        return registry.push(image, progress=progress)


def _chunks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def _is_tls_failure(exc: httpx.TransportError) -> bool:
    """A TLS handshake that failed: retrying cannot help (unlike a refused connection)."""
    return isinstance(exc, httpx.ConnectError) and "SSL" in str(exc)


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _error_message(response: httpx.Response) -> str:
    """The first error of a distribution error body, or the HTTP status."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f"{first.get('code', 'ERROR')}: {first.get('message', '')} (HTTP {response.status_code})"
    except (ValueError, AttributeError, IndexError, KeyError):
        return f"HTTP {response.status_code} {response.reason_phrase}"

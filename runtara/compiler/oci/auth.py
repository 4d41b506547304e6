"""Registry authentication: answers ``WWW-Authenticate`` challenges (Basic and Bearer).

A registry says how it wants to be authenticated in its 401 response. ``Basic`` means
the credentials go on every request; ``Bearer realm=..., service=..., scope=...``
means fetching a token from ``realm`` (with the credentials, if any) and sending that.
Once a scheme is known it is applied up front, so later requests need no extra round trip.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from runtara.compiler.oci.credentials import Credentials
from runtara.errors import Error

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class AuthenticationError(Error):
    """The registry refused the credentials (or wants some and none were given)."""


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """Parse one ``WWW-Authenticate`` value, e.g. ``Bearer realm="...",service="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {match[1].lower(): match[2] or match[3] for match in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


class RegistryAuth(httpx.Auth):
    """An httpx auth flow for one registry; ``scopes`` are added to every token request
    (e.g. pull on the repository a blob is mounted from)."""

    requires_response_body = True

    def __init__(self, credentials: Credentials | None, registry: str) -> None:
        self.credentials = credentials
        self.registry = registry
        self.scopes: set[str] = set()
        self._header: str | None = None
        self._token_scopes: frozenset[str] = frozenset()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header:
            request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code != 401:
            return
        header = response.headers.get("WWW-Authenticate")
        if not header:
            return
        challenge = parse_challenge(header)
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise AuthenticationError(self._needs_credentials())
            if self._header and self._header.startswith("Basic"):
                raise AuthenticationError(self._refused())
            if self.credentials.identity_token:
                raise AuthenticationError(
                    f"registry {self.registry} wants a password (Basic), but the stored "
                    "credential is an identity token: log in again with a password"
                )
            basic = httpx.BasicAuth(self.credentials.username, self.credentials.password)
            self._header = next(basic.auth_flow(request)).headers["Authorization"]
        elif challenge.scheme == "bearer":
            scopes = set(self.scopes)
            if challenge.params.get("scope"):
                scopes.update(challenge.params["scope"].split(" "))
            if self._header and self._header.startswith("Bearer") and scopes <= self._token_scopes:
                raise AuthenticationError(self._refused())
            token_response = yield self._token_request(challenge, scopes)
            if token_response.status_code in (401, 403):
                raise AuthenticationError(self._refused())
            if token_response.status_code != 200:
                raise AuthenticationError(
                    f"token server {challenge.params.get('realm')} answered "
                    f"HTTP {token_response.status_code}"
                )
            try:
                body = token_response.json()
                token = body.get("token") or body["access_token"]
            except (ValueError, KeyError, AttributeError) as exc:
                raise AuthenticationError(
                    f"token server {challenge.params.get('realm')} sent no token"
                ) from exc
            self._header = f"Bearer {token}"
            self._token_scopes = frozenset(scopes)
        else:
            raise AuthenticationError(
                f"registry {self.registry} asks for unsupported authentication {challenge.scheme!r}"
            )
        request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code == 401:
            raise AuthenticationError(self._refused())

    def _token_request(self, challenge: Challenge, scopes: set[str]) -> httpx.Request:
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthenticationError(
                f"registry {self.registry} sent a Bearer challenge without realm"
            )
        params: list[tuple[str, str | int | float | bool | None]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        params += [("scope", scope) for scope in sorted(scopes)]
        if self.credentials is not None and self.credentials.identity_token:
            # OAuth2 refresh-token grant (the distribution spec's token endpoint, POST):
            # what an identity token stored by ``docker login`` is exchanged through.
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self.credentials.identity_token,
                "client_id": "runtara",
                "service": challenge.params.get("service", ""),
                "scope": " ".join(sorted(scopes)),
            }
            return httpx.Request("POST", realm, data=form)
        request = httpx.Request("GET", realm, params=params)
        if self.credentials is not None:
            basic = httpx.BasicAuth(self.credentials.username, self.credentials.password)
            request = next(basic.auth_flow(request))
        return request

    def _needs_credentials(self) -> str:
        return (
            f"registry {self.registry} requires authentication: pass --username and "
            "--password-stdin, or run docker login"
        )

    def _refused(self) -> str:
        if self.credentials is None:
            return self._needs_credentials()
        return (
            f"registry {self.registry} refused the credentials for user "
            f"{self.credentials.username!r} (wrong username or password?)"
        )

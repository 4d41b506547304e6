"""Who is looking: console sessions and CSRF protection.

* A ``--dev`` server is open: the first page view gets a session for tenant
  ``default`` with admin rights (a local, single-user server), switchable to any tenant.
* Otherwise ``/ui/login`` takes an API key (a tenant key, or the admin key and a tenant
  name) and sets a session cookie: signed (HMAC-SHA256), ``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` over HTTPS, eight hours. It holds the tenant and the
  SHA-256 of the key (never the key), and every request checks the key again, so a
  revoked key ends its sessions at once.
* Every action (a POST) must carry the session's CSRF token (a hidden form field, or
  the ``X-CSRF-Token`` header), and its ``Origin`` (when sent) must be this server. The
  login form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from runtara.console import queries
from runtara.runtime.settings import Settings
from runtara.runtime.store import Store, tenants
from runtara.runtime.store.secrets import token_hash

SESSION_COOKIE = "runtara_console"
LOGIN_COOKIE = "runtara_console_login"
SESSION_SECONDS = 8 * 3600
COOKIE_PATH = "/ui"
DEV_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Viewer:
    tenant_id: str
    admin: bool
    csrf: str
    dev: bool = False
    #: A cookie value to set with the response (a session just made).
    new_cookie: str | None = None


class NotSignedIn(Exception):
    """No valid session on a server that needs one: the page sends people to log in."""


class CsrfRefused(Exception):
    """An action without this session's CSRF token or from another origin."""


def signing_key(app_state: object, settings: Settings) -> bytes:
    """Derived from ``RUNTARA_SECRET_KEY`` (or the admin key) so sessions survive a
    restart and work across replicas; a random per-process key otherwise."""
    key: bytes | None = getattr(app_state, "console_key", None)
    if key is None:
        base = settings.effective_secret_key() or settings.admin_key
        material = base.encode() if base else secrets.token_bytes(32)
        key = hmac.new(material, b"runtara console session v1", hashlib.sha256).digest()
        app_state.console_key = key  # type: ignore[attr-defined]
    return key


def _sign(key: bytes, body: bytes) -> str:
    return (
        base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode().rstrip("=")
    )


def seal(key: bytes, payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    text = body.decode().rstrip("=")
    return f"{text}.{_sign(key, text.encode())}"


def unseal(key: bytes, value: str) -> dict[str, object] | None:
    text, _, signature = value.partition(".")
    if not signature or not hmac.compare_digest(signature, _sign(key, text.encode())):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        return None
    if not isinstance(payload, dict) or int(payload.get("x", 0)) < time.time():
        return None
    return payload


def new_session(key: bytes, tenant_id: str, *, admin: bool, credential: str) -> tuple[str, str]:
    """(cookie value, CSRF token) of a fresh session."""
    csrf = secrets.token_urlsafe(24)
    payload = {
        "t": tenant_id,
        "a": admin,
        "k": credential,
        "c": csrf,
        "x": int(time.time()) + SESSION_SECONDS,
    }
    return seal(key, payload), csrf


def credential_of(api_key: str) -> str:
    """What a session remembers of its key: the hash the store keeps, not the key."""
    return token_hash(api_key)


async def viewer(request: Request) -> Viewer:
    """The session of this request; in dev mode one is made on the first visit."""
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    key = signing_key(request.app.state, settings)
    payload = unseal(key, request.cookies.get(SESSION_COOKIE, ""))
    if payload is not None and await _still_valid(payload, settings, store):
        return Viewer(str(payload["t"]), bool(payload["a"]), str(payload["c"]), settings.dev)
    if not settings.dev:
        raise NotSignedIn()
    await store.arun(tenants.ensure_tenant, DEV_TENANT)
    cookie, csrf = new_session(key, DEV_TENANT, admin=True, credential="dev")
    return Viewer(DEV_TENANT, True, csrf, True, new_cookie=cookie)


async def _still_valid(payload: dict[str, object], settings: Settings, store: Store) -> bool:
    credential = str(payload.get("k", ""))
    if credential == "dev":
        return settings.dev
    if credential == "admin":
        return settings.admin_key is not None and bool(payload.get("a"))
    owner = await store.arun(queries.tenant_for_key_hash, credential)
    return owner == payload.get("t")


def check_csrf(request: Request, viewer: Viewer, submitted: str | None) -> None:
    """Refuse an action that does not carry this session's token, or comes from a page
    of another origin."""
    _same_origin(request)
    token = submitted or request.headers.get("x-csrf-token") or ""
    if not hmac.compare_digest(token.encode(), viewer.csrf.encode()):
        raise CsrfRefused()


def check_login_csrf(request: Request, submitted: str | None) -> None:
    _same_origin(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest((submitted or "").encode(), expected.encode()):
        raise CsrfRefused()


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:  # not sent by this browser for a same-origin form: the token decides
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1] != host:
        raise CsrfRefused()


def set_session(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_login_token(response: Response, request: Request, token: str) -> None:
    """The login form's double-submit cookie (no session exists yet to hold a token)."""
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )

"""The console's pages under ``/ui/``: instances, one instance, images, login.

Server-rendered with Jinja2 (autoescape on: every value from an instance, a workflow
or a request is text, never markup), plus one small script for live updates, the
confirmations and the signal payload editor. A strict Content-Security-Policy (no
inline script at all) is the second wall behind the escaping. Actions are plain form
POSTs, so the console also works with JavaScript off; each carries the session's CSRF
token. The pages call the same store operations as the management API.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse, Response

from runtara import __version__
from runtara.console import access, queries, views
from runtara.console.access import CsrfRefused, NotSignedIn, Viewer
from runtara.console.formats import SVG_STYLE, to_svg
from runtara.console.graph import Graph, of_workflow
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.errors import Conflict, InvalidInput, NotFound
from runtara.runtime.settings import Settings
from runtara.runtime.status import TERMINAL, Status
from runtara.runtime.store import events, images, instances, signals, tenants

HERE = Path(__file__).parent
PAGE_SIZE = 50
#: Form bodies larger than this are refused (a signal payload is the largest field).
MAX_FORM_BYTES = 1024 * 1024
#: Pages larger than this are sent gzipped to browsers that accept it.
GZIP_ABOVE = 2048
STATUSES = [s.value for s in Status]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["iso"] = iso
_env.filters["duration"] = views.duration
_env.filters["pathquote"] = lambda value: quote(str(value), safe="")

_SVG_STYLE_HASH = base64.b64encode(hashlib.sha256(SVG_STYLE.encode()).digest()).decode()
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:;"
    f" style-src 'self' 'sha256-{_SVG_STYLE_HASH}'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


def install(app: FastAPI) -> None:
    """Serve the console under ``/ui/`` on ``app``."""
    from runtara.console import triggers  # its pages use this module's helpers

    app.include_router(router)
    app.include_router(triggers.router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(NotSignedIn)
    async def _login(request: Request, exc: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("x-console-live"):
            return Response(status_code=401)
        return RedirectResponse("/ui/login?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return _html(
            request,
            "error.html",
            {
                "viewer": None,
                "title": "Refused",
                "message": "This action did not come from a console page of this server "
                "(missing or wrong CSRF token). Reload the page and try again.",
            },
            status=403,
        )


# -- rendering --------------------------------------------------------------------------


def _html(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """The page, gzipped when the browser takes it (a long timeline shrinks ~8x)."""
    context.setdefault("version", __version__)
    body = _env.get_template(template).render(**context).encode()
    headers = dict(SECURITY_HEADERS)
    headers["Vary"] = "Accept-Encoding"
    if len(body) > GZIP_ABOVE and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return HTMLResponse(body, status_code=status, headers=headers)


def _page(
    request: Request, viewer: Viewer, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    context.update(viewer=viewer, path=request.url.path)
    response = _html(request, template, context, status=status)
    if viewer.new_cookie:
        access.set_session(response, request, viewer.new_cookie)
    return response


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the console's only kind), one value per field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput(f"the form is larger than {MAX_FORM_BYTES // 1024} KB")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInput("the form is not UTF-8") from None
    return {name: values[-1] for name, values in fields.items()}


def _not_found(request: Request, viewer: Viewer, message: str) -> HTMLResponse:
    return _page(request, viewer, "error.html", 404, title="Not found", message=message)


# -- instances --------------------------------------------------------------------------


@router.get("")
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


def _filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    status = query.get("status") or None
    if status not in STATUSES:
        status = None
    try:
        offset = max(0, min(int(query.get("offset") or 0), 10_000_000))
    except ValueError:
        offset = 0
    return {
        "status": status,
        "image": (query.get("image") or "")[:200] or None,
        "q": (query.get("q") or "").replace("\x00", "")[:200],
        "offset": offset,
    }


async def _instance_rows(request: Request, viewer: Viewer) -> dict[str, Any]:
    chosen = _filters(request)
    store = store_of(request)
    found = await store.arun(
        instances.list_instances,
        viewer.tenant_id,
        status=chosen["status"],
        image_id=chosen["image"],
        limit=PAGE_SIZE + 1,
        offset=chosen["offset"],
        id_contains=chosen["q"] or None,
    )
    names: list[tuple[str, str]] = await store.arun(queries.image_names, viewer.tenant_id)
    labels = dict(names)
    keep = {k: v for k, v in chosen.items() if v and k != "offset"}
    offset = chosen["offset"]
    return {
        "rows": found[:PAGE_SIZE],
        "labels": labels,
        "chosen": chosen,
        "statuses": STATUSES,
        "newer": urlencode({**keep, "offset": max(offset - PAGE_SIZE, 0)}) if offset else None,
        "older": urlencode({**keep, "offset": offset + PAGE_SIZE})
        if len(found) > PAGE_SIZE
        else None,
        "first": offset + 1 if found else 0,
        "last": offset + len(found[:PAGE_SIZE]),
        "live_query": urlencode({**keep, "offset": offset}),
        "now_ms": views.now_ms(),
    }


@router.get("/")
async def instance_list(request: Request) -> Response:
    viewer = await access.viewer(request)
    return _page(request, viewer, "instances.html", **await _instance_rows(request, viewer))


@router.get("/rows")
async def instance_rows(request: Request) -> Response:
    """The table body alone: what the list page polls for live updates."""
    viewer = await access.viewer(request)
    return _page(request, viewer, "_instance_rows.html", **await _instance_rows(request, viewer))


async def _instance_view(request: Request, viewer: Viewer, instance_id: str) -> dict[str, Any]:
    store = store_of(request)
    instance = await store.arun(instances.get_instance, viewer.tenant_id, instance_id)
    heads, more = await store.arun(queries.checkpoint_heads, viewer.tenant_id, instance_id)
    found = await store.arun(events.list_events, viewer.tenant_id, instance_id, after=0, limit=1000)
    image = None
    document_graph = None
    if instance.image_id:
        try:
            image = await store.arun(images.get_image, viewer.tenant_id, instance.image_id)
        except NotFound:
            image = None
        if image is not None:
            document_graph = _image_graph(request, image)
    graph = views.graph_for(document_graph, heads)
    states, counts = views.step_states(graph, heads, instance)
    return {
        "instance": instance,
        "image": image,
        "graph_svg": to_svg(graph, states, counts, title=f"steps of {instance.id}")
        if graph.nodes
        else None,
        "from_document": document_graph is not None,
        "legend": views.legend(graph, states),
        "timeline": views.timeline(instance, heads, found),
        "events": found[-300:],
        "events_left_out": max(len(found) - 300, 0),
        "checkpoints": heads[-100:],
        "checkpoints_left_out": max(len(heads) - 100, 0) + (1 if more else 0),
        "pretty": views.pretty,
        "compact": views.compact,
        "signal_targets": views.signal_targets(graph, heads),
        "terminal": instance.status in TERMINAL,
        "now_ms": views.now_ms(),
    }


def _image_graph(request: Request, image: images.Image) -> Graph | None:
    """The workflow graph of an image (parsed once per image: images never change)."""
    cache: dict[str, Graph | None] = request.app.state.__dict__.setdefault("console_graphs", {})
    key = f"{image.tenant_id}\x00{image.id}"
    if key not in cache:
        cache[key] = _parse_graph(image.metadata.get("workflow"))
        if len(cache) > 256:
            cache.pop(next(iter(cache)))
    return cache[key]


def _parse_graph(document: Any) -> Graph | None:
    if not isinstance(document, dict):
        return None
    from runtara import dsl

    try:
        return of_workflow(dsl.loads(json.dumps(document)).workflow)
    except dsl.DocumentError:
        return None


@router.get("/live/instances/{instance_id:path}")
async def instance_live(request: Request, instance_id: str) -> Response:
    """The live part of an instance page alone (polled while the instance runs)."""
    viewer = await access.viewer(request)
    try:
        context = await _instance_view(request, viewer, instance_id)
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    return _page(request, viewer, "_instance_live.html", **context)


@router.get("/instances/{instance_id:path}")
async def instance_page(request: Request, instance_id: str) -> Response:
    viewer = await access.viewer(request)
    try:
        context = await _instance_view(request, viewer, instance_id)
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    notice = request.query_params.get("done")
    context["notice"] = NOTICES.get(notice or "")
    return _page(request, viewer, "instance.html", **context)


NOTICES = {
    "pause": "Pause requested: the instance stops at its next checkpoint.",
    "resume": "Resumed: the instance runs again from its checkpoints.",
    "cancel": "Cancel requested: the instance ends at its next checkpoint.",
    "signal": "Signal sent.",
}
ACTIONS = {"pause": instances.pause, "resume": instances.resume, "cancel": instances.cancel}


@router.post("/act/instances/{instance_id:path}")
async def instance_action(request: Request, instance_id: str) -> Response:
    """Pause, resume, cancel or signal (``action`` field), then back to the page."""
    viewer = await access.viewer(request)
    form = await _form(request)
    access.check_csrf(request, viewer, form.get("csrf"))
    action = form.get("action", "")
    store = store_of(request)
    try:
        if action in ACTIONS:
            await store.arun(ACTIONS[action], viewer.tenant_id, instance_id)
        elif action == "signal":
            checkpoint_id, payload = _signal_fields(form)
            await store.arun(
                signals.send_custom_signal, viewer.tenant_id, instance_id, checkpoint_id, payload
            )
        else:
            raise InvalidInput(f"unknown action {action!r}: pause, resume, cancel or signal")
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    except (Conflict, InvalidInput) as exc:
        context = await _instance_view(request, viewer, instance_id)
        context.update(problem=exc.detail, signal_form=form, notice=None)
        return _page(request, viewer, "instance.html", exc.status, **context)
    target = f"/ui/instances/{_quote(instance_id)}?done={action}"
    return RedirectResponse(target, status_code=303)


def _signal_fields(form: dict[str, str]) -> tuple[str, Any]:
    checkpoint_id = form.get("checkpoint_id", "").strip()
    if not checkpoint_id or len(checkpoint_id) > 1000 or "\x00" in checkpoint_id:
        raise InvalidInput("the signal needs the checkpoint id of a WaitForSignal step")
    text = form.get("payload", "").strip() or "null"
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the payload is not JSON: {exc}") from None
    return checkpoint_id, payload


def _quote(value: str) -> str:
    return quote(value, safe="")


# -- images -----------------------------------------------------------------------------


@router.get("/images")
async def image_list(request: Request) -> Response:
    viewer = await access.viewer(request)
    found = await store_of(request).arun(images.list_images, viewer.tenant_id, limit=500)
    return _page(request, viewer, "images.html", images=found)


@router.get("/images/{image_id}")
async def image_page(request: Request, image_id: str) -> Response:
    viewer = await access.viewer(request)
    store = store_of(request)
    try:
        image = await store.arun(images.get_image, viewer.tenant_id, image_id)
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    versions = await store.arun(images.list_images, viewer.tenant_id, name=image.name, limit=100)
    recent = await store.arun(
        instances.list_instances, viewer.tenant_id, image_id=image.id, limit=20
    )
    graph = _image_graph(request, image)
    return _page(
        request,
        viewer,
        "image.html",
        image=image,
        versions=versions,
        recent=recent,
        graph_svg=to_svg(graph, title=image.label) if graph and graph.nodes else None,
        now_ms=views.now_ms(),
    )


# -- sign in ----------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if settings.dev:
        return RedirectResponse("/ui/", status_code=303)
    token = request.cookies.get(access.LOGIN_COOKIE) or access.new_login_token()
    context = {"viewer": None, "problem": None, "next": _next(request), "csrf": token, "tenant": ""}
    response = _html(request, "login.html", context)
    access.set_login_token(response, request, token)
    return response


def _next(request: Request, value: str | None = None) -> str:
    target = value if value is not None else request.query_params.get("next", "/ui/")
    # only a path inside the console: never another site
    if not target.startswith("/ui/") or target.startswith("//") or "\\" in target:
        return "/ui/"
    return target


@router.post("/login")
async def login(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form = await _form(request)
    access.check_login_csrf(request, form.get("csrf"))
    key = form.get("api_key", "").strip()
    wanted = form.get("tenant", "").strip()
    store = store_of(request)
    signing = access.signing_key(request.app.state, settings)
    target = _next(request, form.get("next"))
    if settings.admin_key and key and hmac.compare_digest(key, settings.admin_key):
        if not wanted:
            return _login_refused(request, form, "With the admin key, name the tenant to view.")
        try:
            await store.arun(tenants.get_tenant, wanted)
        except NotFound:
            return _login_refused(request, form, f"There is no tenant {wanted!r}.")
        cookie, _ = access.new_session(signing, wanted, admin=True, credential="admin")
    else:
        owner = await store.arun(tenants.tenant_for_api_key, key) if key else None
        if owner is None or (wanted and wanted != owner):
            return _login_refused(request, form, "Unknown or revoked API key.")
        cookie, _ = access.new_session(
            signing, owner, admin=False, credential=access.credential_of(key)
        )
    response = RedirectResponse(target, status_code=303)
    access.set_session(response, request, cookie)
    response.delete_cookie(access.LOGIN_COOKIE, path=access.COOKIE_PATH)
    return response


def _login_refused(request: Request, form: dict[str, str], message: str) -> Response:
    context = {
        "viewer": None,
        "problem": message,
        "next": _next(request, form.get("next")),
        "tenant": form.get("tenant", ""),
        "csrf": request.cookies.get(access.LOGIN_COOKIE, ""),
    }
    return _html(request, "login.html", context, status=401)


@router.post("/logout")
async def logout(request: Request) -> Response:
    viewer = await access.viewer(request)
    form = await _form(request)
    access.check_csrf(request, viewer, form.get("csrf"))
    response = RedirectResponse("/ui/login" if not viewer.dev else "/ui/", status_code=303)
    access.clear_session(response)
    return response


@router.post("/tenant")
async def switch_tenant(request: Request) -> Response:
    """Admins (and everyone on a --dev server) may look at another tenant."""
    viewer = await access.viewer(request)
    form = await _form(request)
    access.check_csrf(request, viewer, form.get("csrf"))
    if not viewer.admin:
        raise CsrfRefused()
    wanted = form.get("tenant", "").strip()
    store = store_of(request)
    try:
        if viewer.dev:
            if not wanted or len(wanted) > 200 or "\x00" in wanted:
                raise NotFound("a tenant name of 1 to 200 characters")
            await store.arun(tenants.ensure_tenant, wanted)
        else:
            await store.arun(tenants.get_tenant, wanted)
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    signing = access.signing_key(request.app.state, request.app.state.settings)
    cookie, _ = access.new_session(
        signing, wanted, admin=True, credential="dev" if viewer.dev else "admin"
    )
    response = RedirectResponse("/ui/", status_code=303)
    access.set_session(response, request, cookie)
    return response


__all__ = ["install", "router"]

"""The FastAPI application: store lifecycle, problem documents, body limit, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from pydantic import BaseModel

from runtara import __version__
from runtara.console import app as console
from runtara.runtime import tracing
from runtara.runtime.api import (
    connections,
    images,
    instance,
    management,
    metrics,
    problems,
    starts,
    tenants,
)
from runtara.runtime.api.fastpath import CheckpointFastPath
from runtara.runtime.api.request_limits import BodySizeLimit
from runtara.runtime.scheduler import SchedulerConfig, start_scheduler
from runtara.runtime.settings import Settings
from runtara.runtime.store import Store, open_store
from runtara.runtime.triggers import api_hooks, api_schedules
from runtara.runtime.triggers.ticker import Ticker


class Health(BaseModel):
    status: str
    database: str
    dev: bool
    version: str


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """The service app. Without ``store``, it opens (and migrates) one at startup and
    closes it at shutdown; a given ``store`` stays the caller's to close."""
    settings = settings or Settings.from_env()
    scheduling = SchedulerConfig.from_env()  # a bad RUNTARA_* setting fails here, not later

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_store(
            settings.database_url, secret_key=settings.effective_secret_key()
        )
        app.state.metrics.watch_store(app.state.store)
        app.state.scheduler = start_scheduler(
            app.state.store, getattr(app.state, "public_url", "http://127.0.0.1:8001"), scheduling
        )
        app.state.ticker = None
        if app.state.scheduler is not None:  # a server that launches instances fires schedules
            app.state.ticker = Ticker(
                app.state.store,
                poll_s=scheduling.poll_s,
                grace_s=scheduling.schedule_grace_s,
                on_fired=app.state.scheduler.nudge,
            )
            app.state.ticker.start()
        if app.state.scheduler is not None and app.state.tracing is not None:
            app.state.scheduler.on_ended = partial(tracing.instance_ended, app.state)
        try:
            yield
        finally:
            if app.state.ticker is not None:
                await app.state.ticker.stop()
            if app.state.scheduler is not None:
                await app.state.scheduler.stop()
            if app.state.tracing is not None:
                app.state.tracing.shutdown()
            if owned:
                app.state.store.close()

    app = FastAPI(
        title="Runtara runtime",
        version=__version__,
        description="Instance protocol (checkpoints, sleeps, signals) and management API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics.Metrics()
    app.state.tracing = tracing.Tracing.from_env()  # OTEL_EXPORTER_OTLP_ENDPOINT
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_state_bytes)

    @app.get("/health", response_model=Health, tags=["service"])
    async def health(request: Request) -> Health:
        """200 once the store is open and migrated."""
        return Health(
            status="ok",
            database=request.app.state.store.dialect,
            dev=settings.dev,
            version=__version__,
        )

    app.include_router(instance.router)
    app.include_router(management.router)
    app.include_router(tenants.router)
    app.include_router(connections.router)
    app.include_router(metrics.router)
    app.include_router(images.router)
    app.include_router(starts.router)
    app.include_router(api_schedules.router)
    app.include_router(api_hooks.router)
    console.install(app)
    return app


def create_asgi_app(
    settings: Settings | None = None, *, store: Store | None = None
) -> CheckpointFastPath:
    """What ``runtara server`` serves: the app, with the checkpoint save on a fast path."""
    return CheckpointFastPath(create_app(settings, store=store))

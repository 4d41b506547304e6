"""The HTTP service: instance protocol (``instance.py``) and management API (``management.py``).

``create_app`` is imported on first use, so that a module of this package that needs no
web framework (``storable``, ``instance_models``) can be imported without FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtara.runtime.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from runtara.runtime.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

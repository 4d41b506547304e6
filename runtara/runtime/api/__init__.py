"""The HTTP service: instance protocol (``instance.py``) and management API (``management.py``)."""

from runtara.runtime.api.app import create_app

__all__ = ["create_app"]

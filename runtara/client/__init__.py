"""``runtara.client``: the Python API of a runtime's management endpoints (httpx).

``management`` holds ``Client`` and ``ApiError``; ``images`` the image, start and log
calls mixed into it, ``triggers`` the schedule and webhook calls. Import from here: ``from runtara.client import Client``.
"""

from runtara.client.management import DEFAULT_URL, ApiError, Client

__all__ = ["DEFAULT_URL", "ApiError", "Client"]

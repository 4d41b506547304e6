"""Errors the runtime raises on purpose; the API maps each to one HTTP status.

They carry a message written for the user (what and where), never a traceback.
"""

from __future__ import annotations


class RuntaraError(Exception):
    """Base of every deliberate runtime error; ``status`` is the HTTP status the API answers."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        #: More members of the problem body, e.g. ``field``: the request field at fault.
        self.extra = extra


class NotFound(RuntaraError):
    status = 404
    title = "Not found"


class Conflict(RuntaraError):
    """The request is valid but the current state refuses it (e.g. an illegal status change)."""

    status = 409
    title = "Conflict"


class Unauthorized(RuntaraError):
    status = 401
    title = "Unauthorized"


class Forbidden(RuntaraError):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(RuntaraError):
    status = 413
    title = "Payload too large"


class InvalidInput(RuntaraError):
    status = 422
    title = "Invalid input"


class NotConfigured(RuntaraError):
    """A feature needs configuration the server does not have (e.g. ``RUNTARA_SECRET_KEY``)."""

    status = 503
    title = "Not configured"


class StoreUnavailable(RuntaraError):
    """The database cannot be opened (bad URL, unreachable server, unwritable file)."""

    status = 503
    title = "Store unavailable"

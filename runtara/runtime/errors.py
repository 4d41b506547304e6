"""Errors the runtime raises on purpose; the API maps each to one HTTP status.

They carry a message written for the user (what and where), never a traceback. All
derive from ``runtara.errors.ServiceError`` (the tree is documented in ``runtara.errors``).
"""

from __future__ import annotations

from runtara.errors import ServiceError

#: The former name of ``ServiceError`` (the same class), kept for code written against it.
RuntaraError = ServiceError


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    """The request is valid but the current state refuses it (e.g. an illegal status change)."""

    status = 409
    title = "Conflict"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"


class InvalidInput(ServiceError):
    status = 422
    title = "Invalid input"


class NotConfigured(ServiceError):
    """A feature needs configuration the server does not have (e.g. ``RUNTARA_SECRET_KEY``)."""

    status = 503
    title = "Not configured"


class StoreUnavailable(ServiceError):
    """The database cannot be opened (bad URL, unreachable server, unwritable file)."""

    status = 503
    title = "Store unavailable"

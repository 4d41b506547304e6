"""The library's error tree: everything runtara raises on purpose on the host side.

One root, ``Error``, for the server, the compiler, the client, the language tools and
the CLI, so that ``except runtara.errors.Error`` catches every failure meant for a user
(its message says what and where) and lets bugs through. Standard library only, so any
host-side module may import it. The classes live beside the code that raises them and
are re-exported here; this is the one place that lists them all::

    Error                                   runtara.errors
    ├── ServiceError                        runtara.errors (status, title, detail)
    │   ├── NotFound                 404    runtara.runtime.errors
    │   ├── Conflict                 409
    │   ├── Unauthorized             401
    │   ├── Forbidden                403
    │   ├── PayloadTooLarge          413
    │   ├── InvalidInput             422
    │   ├── NotConfigured            503
    │   └── StoreUnavailable         503
    ├── ApiError                            runtara.client (the client's view of a problem)
    ├── DocumentError                       runtara.dsl.loader (a workflow file unusable)
    ├── ReferenceSyntaxError (+ ValueError) runtara.dsl.references (a bad path/template)
    ├── Unstorable (+ ValueError)           runtara.runtime.api.storable (a value the store refuses)
    ├── TierError (+ ValueError)            runtara.runtime.runners.tiers (limits over a memory tier)
    ├── CodegenError                        runtara.compiler.codegen.errors
    │   └── InvalidWorkflow                 runtara.compiler.codegen.documents
    ├── CompileError                        runtara.compiler.native.workflow
    ├── NativeBuildError                    runtara.compiler.native.nuitka
    ├── MissingToolError                    runtara.compiler.native.toolchain
    ├── UnavailableImportError              runtara.compiler.native.imports
    ├── ImageFormatError                    runtara.compiler.oci.layout
    ├── RootfsError                         runtara.compiler.oci.rootfs
    ├── AuthenticationError                 runtara.compiler.oci.auth
    ├── CredentialHelperError               runtara.compiler.oci.credentials
    ├── RegistryError                       runtara.compiler.oci.push
    │   └── TransientRegistryError          (worth retrying: 5xx, 429, dropped connection)
    ├── InvalidReference (+ ValueError)     runtara.compiler.oci.reference
    ├── ArgumentError (+ ValueError)        runtara.arguments (a JSON argument or @FILE)
    ├── InvalidLimit (+ ValueError)         runtara.runtime.runners.resources
    ├── LaunchError                         runtara.runtime.runners.base (cannot start)
    ├── RunError                            runtara.runtime.local.request (``runtara run``)
    ├── NotSignedIn                         runtara.console.access (sent to the login page)
    ├── CsrfRefused                         runtara.console.access
    └── CliError                            runtara.cli._common (one line, an exit code)

Image-side code (``runtara.sdk``, ``runtara.agents``, generated modules) may import only
the standard library, so it cannot share this root: its own root is
``runtara.agents.errors.InstanceError`` (see there). The two trees never mix: an
instance's failure reaches the host as data (an instance's error record), not as an
exception.

Only ``Error`` and ``ServiceError`` are defined here; the rest are imported lazily by
name (``from runtara.errors import NotFound``) so this module stays free of imports.
"""

from __future__ import annotations

import importlib
from typing import Any


class Error(Exception):
    """Root of every error the runtara library raises on purpose (host side)."""


class ServiceError(Error):
    """A deliberate refusal by the runtime service; the API answers it with ``status``.

    ``detail`` is written for the user (what and where), never a traceback.
    """

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        #: More members of the problem body, e.g. ``field``: the request field at fault.
        self.extra = extra


#: Where each re-exported class is defined (imported on first use).
_HOMES = {
    "Unstorable": "runtara.runtime.api.storable",
    "TierError": "runtara.runtime.runners.tiers",
    "NotFound": "runtara.runtime.errors",
    "Conflict": "runtara.runtime.errors",
    "Unauthorized": "runtara.runtime.errors",
    "Forbidden": "runtara.runtime.errors",
    "PayloadTooLarge": "runtara.runtime.errors",
    "InvalidInput": "runtara.runtime.errors",
    "NotConfigured": "runtara.runtime.errors",
    "StoreUnavailable": "runtara.runtime.errors",
    "ApiError": "runtara.client.management",
    "DocumentError": "runtara.dsl.loader",
    "ReferenceSyntaxError": "runtara.dsl.references",
    "CodegenError": "runtara.compiler.codegen.errors",
    "InvalidWorkflow": "runtara.compiler.codegen.documents",
    "CompileError": "runtara.compiler.native.workflow",
    "NativeBuildError": "runtara.compiler.native.nuitka",
    "MissingToolError": "runtara.compiler.native.toolchain",
    "UnavailableImportError": "runtara.compiler.native.imports",
    "ImageFormatError": "runtara.compiler.oci.layout",
    "RootfsError": "runtara.compiler.oci.rootfs",
    "AuthenticationError": "runtara.compiler.oci.auth",
    "CredentialHelperError": "runtara.compiler.oci.credentials",
    "RegistryError": "runtara.compiler.oci.push",
    "TransientRegistryError": "runtara.compiler.oci.push",
    "InvalidReference": "runtara.compiler.oci.reference",
    "ArgumentError": "runtara.arguments",
    "InvalidLimit": "runtara.runtime.runners.resources",
    "LaunchError": "runtara.runtime.runners.base",
    "RunError": "runtara.runtime.local.request",
    "NotSignedIn": "runtara.console.access",
    "CsrfRefused": "runtara.console.access",
    "CliError": "runtara.cli._common",
}

__all__ = ["Error", "ServiceError", *_HOMES]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

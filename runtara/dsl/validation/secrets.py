"""E043: secrets written into the document (they would be compiled into the image).

A literal is secret-looking when it sits under a credential-like key (``token``,
``password``, ``api_key``, ``Authorization``...) or a capability input marked secret,
or when it has the shape of a credential (a bearer header, a PEM private key, a JWT,
well-known token prefixes). Connections are the place for credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from runtara.agents.redaction import is_secret_key as is_credential_key
from runtara.dsl.mapping import ImmediateValue
from runtara.dsl.source_map import escape_pointer_token
from runtara.dsl.steps import AgentStep, StepBase
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.walk import GraphScope, leaf_values, step_values

_SECRET_SHAPES = re.compile(
    r"^(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}$"  # an Authorization header value
    r"|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"  # PEM private key
    r"|^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$"  # JWT
    r"|^(?:AKIA|ASIA)[0-9A-Z]{16}$"  # AWS access key id
    r"|^gh[pousr]_[A-Za-z0-9]{30,}$"  # GitHub token
    r"|^xox[abposr]-[A-Za-z0-9-]{10,}$"  # Slack token
    r"|^sk_(?:live|test)_[A-Za-z0-9]{16,}$",  # Stripe secret key
)


def is_secret_key(key: str) -> bool:
    """A credential-like key; for ``headers.Authorization`` the last part counts."""
    return is_credential_key(key.rsplit(".", 1)[-1])


def _findings(value: Any, key: str | None, ptr: str) -> Iterator[tuple[str, str]]:
    """(pointer, reason) for each secret-looking string inside a literal."""
    if isinstance(value, str):
        if not value.strip():
            return
        if key is not None and is_secret_key(key):
            yield ptr, f"a literal '{key}'"
        elif _SECRET_SHAPES.search(value):
            yield ptr, "a literal that looks like a credential"
    elif isinstance(value, dict):
        for sub_key, item in value.items():
            yield from _findings(item, sub_key, f"{ptr}/{escape_pointer_token(sub_key)}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _findings(item, key, f"{ptr}/{index}")


def check_step_secrets(ctx: CheckContext, step: StepBase, ptr: str) -> None:
    secret_inputs: set[str] = set()
    if isinstance(step, AgentStep):
        capability = ctx.catalog.capability(step.agent_id, step.capability_id)
        if capability is not None:
            secret_inputs = {spec.name for spec in capability.inputs if spec.secret}
    for site in step_values(step, ptr):
        for leaf_ptr, leaf in leaf_values(site.value, site.pointer):
            if not isinstance(leaf, ImmediateValue):
                continue
            key = _destination_key(site.key, site.pointer, leaf_ptr)
            if site.key in secret_inputs and isinstance(leaf.value, str) and leaf.value:
                _report(
                    ctx, step.id, f"{leaf_ptr}/value", f"a literal for secret input '{site.key}'"
                )
                continue
            for found_ptr, reason in _findings(leaf.value, key, f"{leaf_ptr}/value"):
                _report(ctx, step.id, found_ptr, reason)


def _destination_key(site_key: str | None, site_ptr: str, leaf_ptr: str) -> str | None:
    """The key a leaf is written under: the composite key, else the mapping key."""
    if leaf_ptr != site_ptr:
        last = leaf_ptr.rsplit("/", 1)[-1]
        return None if last.isdigit() else last.replace("~1", "/").replace("~0", "~")
    return site_key


def check_variable_secrets(ctx: CheckContext, scope: GraphScope) -> None:
    for name, variable in scope.graph.variables.items():
        ptr = f"{scope.pointer}/variables/{escape_pointer_token(name)}/value"
        for found_ptr, reason in _findings(variable.value, name, ptr):
            ctx.report(
                "E043",
                f"Variable '{name}' holds {reason}: secrets belong in a connection, "
                "not in the workflow document",
                found_ptr,
            )


def _report(ctx: CheckContext, step_id: str, ptr: str, reason: str) -> None:
    ctx.report(
        "E043",
        f"Step '{step_id}' contains {reason}: secrets belong in a connection "
        "(connectionId), not in the workflow document",
        ptr,
    )

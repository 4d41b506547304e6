"""Keep connection secrets out of what an instance reports (events, errors, retries).

The rule of what is secret is the agents' one (``runtara.agents.redaction``): the
parameters the connection type declares secret (as the runtime lists them), secret-looking
keys, and derived forms such as HTTP basic credentials; a ``base_url`` stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runtara.agents.redaction import MIN_SECRET_LENGTH, redact, secret_values


class Redactor:
    """The secrets of every connection fetched so far, masked as ``***`` in reports."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def learn_connection(
        self, connection: Mapping[str, Any], declared: Iterable[str] | None
    ) -> None:
        """Remember ``connection``'s secret values; ``declared`` names its secret
        parameters (``None`` from a runtime that does not say: then every string is)."""
        parameters = connection.get("parameters")
        if not isinstance(parameters, Mapping):
            return
        if declared is None:
            self._learn_strings(parameters)
        else:
            self._learn_strings([parameters.get(name) for name in declared])
        self._secrets.update(secret_values(connection))

    def _learn_strings(self, value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= MIN_SECRET_LENGTH:
                self._secrets.add(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                self._learn_strings(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._learn_strings(item)

    def scrub(self, value: Any) -> Any:
        """``value`` with every known secret replaced by ``***`` (a copy; input untouched)."""
        return redact(value, extra=self._secrets, mask_keys=False)

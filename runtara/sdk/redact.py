"""Keep connection secrets out of what an instance reports (events, errors, retries)."""

from __future__ import annotations

from typing import Any

MASK = "***"
#: Shorter values (ports, flags) would mask innocent text; they are not secrets anyway.
MIN_SECRET_LENGTH = 4


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def learn(self, parameters: Any) -> None:
        """Remember every string value in ``parameters`` (nested) as a secret."""
        if isinstance(parameters, str):
            if len(parameters) >= MIN_SECRET_LENGTH:
                self._secrets.add(parameters)
        elif isinstance(parameters, dict):
            for value in parameters.values():
                self.learn(value)
        elif isinstance(parameters, list | tuple):
            for value in parameters:
                self.learn(value)

    def scrub(self, value: Any) -> Any:
        """``value`` with every known secret replaced by ``***`` (a copy; input untouched)."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            for secret in sorted(self._secrets, key=len, reverse=True):
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value

"""Diagnostics: one problem in a document, with a stable code and a place.

Codes are those of DSL.md (E001..E070, W003..W050) plus ``S001`` (the document does
not match the JSON Schema) and ``S000`` (the file cannot be read or is not JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from runtara.agents.catalog import closest

Severity = Literal["error", "warning"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: Every code the validator can report, with what it means.
CODES: dict[str, str] = {
    "S000": "file cannot be read or is not valid JSON",
    "S001": "document does not match the workflow JSON Schema",
    "E001": "entry point not among steps",
    "E002": "step unreachable from the entry point",
    "E003": "edge names an unknown step",
    "E004": "no steps",
    "E010": "reference to an unknown step",
    "E011": "malformed reference path",
    "E012": "reference to a step that has not run yet on every path",
    "E013": "unknown variable",
    "E020": "unknown agent",
    "E021": "unknown capability",
    "E022": "required capability input missing",
    "E023": "immediate value of the wrong type",
    "E024": "value not in the field's enum",
    "E027": "query-only operator in a workflow condition",
    "E030": "unknown integration",
    "E040": "connection data passed to a non-secure agent",
    "E041": "connection data in workflow output",
    "E042": "connection data logged",
    "E043": "secret-looking literal in an immediate value",
    "E050": "invalid child version",
    "E051": "unknown child workflow",
    "E055": "required input of the child workflow not mapped",
    "E060": "duplicate step name",
    "E070": "cycle outside a While loop",
    "E110": "duplicate AiAgent tool label",
    "E111": "invalid AiAgent tool label",
    "E112": "AiAgent without a model connection",
    "E113": "AiAgent with several memory edges",
    "E114": "AiAgent memory edge not to a memory provider Agent step",
    "E115": "AiAgent memory config without a memory edge",
    "E116": "AiAgent memory edge without memory config",
    "E120": "AiAgent mcp edge not to an Agent step",
    "E121": "AiAgent mcp edge to an Agent step of another agent than mcp",
    "E122": "AiAgent mcp edge with an empty toolset name",
    "E123": "AiAgent mcp edges with the same toolset name",
    "E128": "AiAgent tool edge to a step that cannot be a tool",
    "W001": "unknown field, ignored",
    "W003": "non-Finish step with no outgoing edge",
    "W020": "unknown input field",
    "W030": "maxRetries > 50",
    "W031": "retryDelay > 1 h",
    "W032": "parallelism > 100",
    "W033": "maxIterations > 10,000",
    "W034": "timeout > 1 h",
    "W040": "connection never used",
    "W050": "step reads its own outputs",
    "W052": "data read but the workflow has no inputSchema",
    "W054": "data field not declared in the inputSchema",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem: code, severity, message and where (JSON pointer, line, column)."""

    code: str
    message: str
    path: str = ""
    """JSON pointer of the offending part ("" is the whole document)."""
    line: int = 1
    column: int = 1

    @property
    def severity(self) -> Severity:
        return "warning" if self.code.startswith("W") else "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self, filename: str) -> str:
        """``file:line:col: CODE message`` (the text output of ``runtara validate``).

        Always one line: control characters from the document (a newline or an escape
        sequence in a step id) are shown escaped, as in ``'a\\nb'``.
        """
        line = f"{filename}:{self.line}:{self.column}: {self.code} {self.message}"
        return _CONTROL.sub(lambda match: repr(match.group())[1:-1], line)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest candidate (case-insensitive), or ""."""
    close = closest(name, candidates)
    return f" Did you mean '{close}'?" if close else ""


def available(names: Iterable[str], limit: int = 12) -> str:
    """`` Available: a, b, c`` (at most ``limit`` names), or "" when there are none."""
    listed = sorted(names)
    if not listed:
        return ""
    more = f", ... ({len(listed) - limit} more)" if len(listed) > limit else ""
    return " Available: " + ", ".join(listed[:limit]) + more + "."

"""What each enum value of the language means: the hover and completion text of editors.

The models give the values (``Literal`` types) and the catalog gives agents and
capabilities; this table gives one line per value of the small vocabularies that have no
class or function of their own to carry a docstring. ``enum_docs`` finds the table for a
set of values; a value missing here is reported by ``tests/dsl/test_schema.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runtara.dsl.graph import MEMORY_TIER_BYTES

_COMPARISONS: dict[str, str] = {
    "EQ": "Equal: the two arguments are equal.",
    "NE": "Not equal.",
    "GT": "Greater than: first > second.",
    "GTE": "Greater than or equal: first >= second.",
    "LT": "Less than: first < second.",
    "LTE": "Less than or equal: first <= second.",
    "STARTS_WITH": "The first (a string) starts with the second.",
    "ENDS_WITH": "The first (a string) ends with the second.",
    "CONTAINS": "The first (string or array) contains the second.",
    "IN": "The first is one of the items of the second (an array).",
    "NOT_IN": "The first is none of the items of the second (an array).",
    "IS_DEFINED": "The argument is present and not null.",
    "IS_EMPTY": 'The argument is null, "", [] or {}.',
    "IS_NOT_EMPTY": 'The argument is neither null nor "", [] or {}.',
}

TABLES: tuple[Mapping[str, str], ...] = (
    {  # ConditionOp
        "AND": "All arguments hold (any number of nested expressions).",
        "OR": "At least one argument holds.",
        "NOT": "The single argument does not hold.",
        **_COMPARISONS,
        "LENGTH": "The length of a string or array (compare it inside GT, EQ, ...).",
        "MATCH": "Runtara's query-only operator: refused in a workflow (E027).",
    },
    {  # MatchType (Switch cases)
        **_COMPARISONS,
        "BETWEEN": "`match` is [min, max]: min <= value <= max.",
        "RANGE": "`match` is {gte, gt, lte, lt}: every bound given holds.",
    },
    {  # Edge labels
        "": "Sequence: the next step (same as no label).",
        "next": "Sequence: the next step.",
        "true": "Taken when the Conditional step's condition holds.",
        "false": "Taken when the Conditional step's condition does not hold.",
        "onError": "Error handler: taken when the step fails (it reads `steps.error`).",
    },
    {  # Condition kinds
        "operation": "An operator applied to `arguments` (`op` says which).",
        "value": 'A mapping value tested for truthiness (null, false, 0, "", [], {} are false).',
    },
    {  # ReferenceType
        "string": "Convert to a string.",
        "integer": "Convert to an integer (a failure fails the step).",
        "number": "Convert to a number (a failure fails the step).",
        "boolean": "Convert to true or false.",
        "json": "Parse a JSON string into a value.",
        "file": "Read as a file value {content (base64), filename?, mimeType?}.",
    },
    {  # VariableType / FieldType
        "string": "Text.",
        "number": "Any number.",
        "integer": "A whole number.",
        "boolean": "true or false.",
        "array": "A JSON array.",
        "object": "A JSON object.",
        "file": "A file value {content (base64), filename?, mimeType?}.",
        "connection": "The id of a stored connection (a string).",
    },
    {  # LogLevel
        "debug": "Diagnostic detail.",
        "info": "Normal progress.",
        "warn": "Something unexpected that the workflow survives.",
        "error": "A failure worth an operator's attention.",
    },
    {  # ErrorCategory
        "transient": "May succeed when retried (a timeout, an unavailable service).",
        "permanent": "Will fail again: no retry.",
    },
    {  # ErrorSeverity
        "info": "Informational.",
        "warning": "Degraded but acceptable.",
        "error": "A failure.",
        "critical": "A failure needing immediate attention.",
    },
    {  # CompactionStrategy
        "slidingWindow": "Drop the oldest messages (free; their content is lost).",
        "summarize": "Replace the oldest messages by one summary the model writes.",
    },
    {  # MemoryTier
        tier: f"Instance memory limit {size // 2**20} MB."
        for tier, size in MEMORY_TIER_BYTES.items()
    },
)


def enum_docs(values: Iterable[object]) -> list[str] | None:
    """One description per value, from the first table that covers them all, else None."""
    wanted = list(values)
    for table in TABLES:
        if all(isinstance(v, str) and v in table for v in wanted):
            return [table[str(v)] for v in wanted]
    return None

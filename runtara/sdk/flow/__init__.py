"""The small library generated workflow modules call (image-side: standard library only).

Codegen resolves everything it can at compile time (paths, mappings, conditions, the
execution plan), so what remains here is run-time mechanics: the safe path getter,
coercions, condition operators, template filters, and the step executor that makes
every step durable. Generated code uses it as ``from runtara.sdk import flow``.
"""

from __future__ import annotations

from runtara.sdk.flow import templates as tpl
from runtara.sdk.flow.ai import Memory, Tool, ai_agent, fields_schema, mcp_tools
from runtara.sdk.flow.coerce import (
    COERCE,
    to_boolean,
    to_file,
    to_integer,
    to_json,
    to_number,
    to_string,
)
from runtara.sdk.flow.conditions import (
    as_number,
    between,
    contains,
    ends_with,
    eq,
    gt,
    gte,
    in_,
    in_range,
    is_defined,
    is_empty,
    is_not_empty,
    json_equal,
    length,
    lt,
    lte,
    ne,
    not_in,
    starts_with,
    truthy,
)
from runtara.sdk.flow.control import embed, split, while_loop
from runtara.sdk.flow.errors import (
    CoercionError,
    FlowError,
    InputValidationError,
    StepFailed,
    StepTimeout,
    WorkflowStopped,
)
from runtara.sdk.flow.failures import guard
from runtara.sdk.flow.main import execute, main
from runtara.sdk.flow.paths import get, or_default
from runtara.sdk.flow.runner import Run, record, truncate
from runtara.sdk.flow.schema import validate_input
from runtara.sdk.flow.scope import Scope, StepInfo
from runtara.sdk.flow.steps import (
    connection,
    delay,
    fail,
    fetch_connection,
    filter_items,
    finish,
    group_by,
    log,
    wait_for_signal,
)

__all__ = [
    "COERCE",
    "CoercionError",
    "FlowError",
    "InputValidationError",
    "Memory",
    "Run",
    "Scope",
    "StepFailed",
    "StepInfo",
    "StepTimeout",
    "Tool",
    "WorkflowStopped",
    "ai_agent",
    "as_number",
    "between",
    "connection",
    "contains",
    "delay",
    "embed",
    "ends_with",
    "eq",
    "execute",
    "fail",
    "fetch_connection",
    "fields_schema",
    "filter_items",
    "finish",
    "get",
    "group_by",
    "gt",
    "gte",
    "guard",
    "in_",
    "in_range",
    "is_defined",
    "is_empty",
    "is_not_empty",
    "json_equal",
    "length",
    "log",
    "lt",
    "lte",
    "main",
    "mcp_tools",
    "ne",
    "not_in",
    "or_default",
    "record",
    "split",
    "starts_with",
    "to_boolean",
    "to_file",
    "to_integer",
    "to_json",
    "to_number",
    "to_string",
    "tpl",
    "truncate",
    "truthy",
    "validate_input",
    "wait_for_signal",
    "while_loop",
]

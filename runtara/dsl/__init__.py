"""The workflow language: models, loading with source positions, schema and validation.

The pydantic models here are the single source of truth for the DSL (see DSL.md):
the JSON Schema, the validator and codegen all read them.

    >>> from runtara import dsl
    >>> result = dsl.validate("examples/hello.json")    # every problem, with line:col
    >>> result.ok, [d.format(result.filename) for d in result.diagnostics]
    >>> loaded = dsl.load("examples/hello.json")        # raises dsl.DocumentError
    >>> graph = loaded.workflow.graph
    >>> for scope, pointer, step in dsl.iter_steps(loaded.workflow): ...
    >>> dsl.parse_reference("steps['a-b'].outputs.items[0]").segments
    ('steps', 'a-b', 'outputs', 'items', 0)
"""

from __future__ import annotations

from runtara.dsl.conditions import (
    CONDITION_OPS,
    Condition,
    ConditionArgument,
    ConditionOp,
    OperationCondition,
    ValueCondition,
)
from runtara.dsl.diagnostics import CODES, Diagnostic, Severity
from runtara.dsl.graph import (
    MEMORY_TIER_BYTES,
    Edge,
    EdgeLabel,
    ExecutionGraph,
    MemoryTier,
    SchemaField,
    Variable,
    Workflow,
)
from runtara.dsl.loader import (
    DocumentError,
    JsonDocument,
    LoadedWorkflow,
    load,
    loads,
    parse_json,
)
from runtara.dsl.mapping import (
    CompositeValue,
    FileValue,
    ImmediateValue,
    InputMapping,
    MappingValue,
    ReferenceType,
    ReferenceValue,
    TemplateValue,
    parse_mapping_value,
)
from runtara.dsl.references import (
    ROOTS,
    ReferencePath,
    ReferenceSyntaxError,
    Segment,
    TemplateExpression,
    TemplatePart,
    format_path,
    parse_reference,
    parse_template,
)
from runtara.dsl.source_map import Position, SourceMap, pointer
from runtara.dsl.steps import (
    AgentStep,
    AiAgentStep,
    ConditionalStep,
    ConnectionStep,
    DelayStep,
    EmbedWorkflowStep,
    ErrorStep,
    FilterStep,
    FinishStep,
    GroupByStep,
    LogStep,
    MatchType,
    SplitStep,
    Step,
    StepBase,
    SwitchCase,
    SwitchStep,
    WaitForSignalStep,
    WhileStep,
)
from runtara.dsl.validation import (
    ValidationResult,
    find_child_workflows,
    validate,
    validate_text,
)
from runtara.dsl.walk import (
    GraphScope,
    ValueSite,
    embedded_mapping_values,
    iter_graphs,
    iter_steps,
    leaf_values,
    step_values,
)

__all__ = [
    "CODES",
    "CONDITION_OPS",
    "MEMORY_TIER_BYTES",
    "ROOTS",
    "AgentStep",
    "AiAgentStep",
    "CompositeValue",
    "Condition",
    "ConditionArgument",
    "ConditionOp",
    "ConditionalStep",
    "ConnectionStep",
    "DelayStep",
    "Diagnostic",
    "DocumentError",
    "Edge",
    "EdgeLabel",
    "EmbedWorkflowStep",
    "ErrorStep",
    "ExecutionGraph",
    "FileValue",
    "FilterStep",
    "FinishStep",
    "GraphScope",
    "GroupByStep",
    "ImmediateValue",
    "InputMapping",
    "JsonDocument",
    "LoadedWorkflow",
    "LogStep",
    "MappingValue",
    "MatchType",
    "MemoryTier",
    "OperationCondition",
    "Position",
    "ReferencePath",
    "ReferenceSyntaxError",
    "ReferenceType",
    "ReferenceValue",
    "SchemaField",
    "Segment",
    "Severity",
    "SourceMap",
    "SplitStep",
    "Step",
    "StepBase",
    "SwitchCase",
    "SwitchStep",
    "TemplateExpression",
    "TemplatePart",
    "TemplateValue",
    "ValidationResult",
    "ValueCondition",
    "ValueSite",
    "Variable",
    "WaitForSignalStep",
    "WhileStep",
    "Workflow",
    "embedded_mapping_values",
    "find_child_workflows",
    "format_path",
    "iter_graphs",
    "iter_steps",
    "leaf_values",
    "load",
    "loads",
    "parse_json",
    "parse_mapping_value",
    "parse_reference",
    "parse_template",
    "pointer",
    "step_values",
    "validate",
    "validate_text",
]

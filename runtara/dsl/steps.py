"""The 13 step types, a union tagged by ``stepType``.

``StartScenario`` (with ``childScenarioId``) is accepted as Runtara's older spelling of
``EmbedWorkflow`` (``childWorkflowId``); both parse to ``EmbedWorkflowStep``.
Subgraph-holding steps (Split, While, WaitForSignal) refer to ``ExecutionGraph``, which
is defined in ``runtara.dsl.graph`` and resolved there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, NonNegativeInt

from runtara.dsl._base import DslModel
from runtara.dsl._union_schema import TaggedUnionSchema
from runtara.dsl.conditions import Condition
from runtara.dsl.fields import SchemaField
from runtara.dsl.mapping import InputMapping, MappingValue

if TYPE_CHECKING:
    from runtara.dsl.graph import ExecutionGraph

MatchType = Literal[
    "EQ",
    "NE",
    "GT",
    "GTE",
    "LT",
    "LTE",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "IN",
    "NOT_IN",
    "IS_DEFINED",
    "IS_EMPTY",
    "IS_NOT_EMPTY",
    "BETWEEN",
    "RANGE",
]
LogLevel = Literal["debug", "info", "warn", "error"]
ErrorCategory = Literal["transient", "permanent"]
ErrorSeverity = Literal["info", "warning", "error", "critical"]


class StepBase(DslModel):
    """Fields every step has."""

    id: str
    """Unique within its graph; equal to the step's key in ``steps``. Not empty, and no
    control characters (a NUL or a newline in an id would garble every log line, event
    and diagnostic that names the step)."""
    name: str | None = None
    """Human name, unique in the whole document."""
    breakpoint: bool = False
    """With ``debugMode``, the instance suspends before this step; ``resume`` goes on
    (ignored otherwise)."""
    durable: bool = True
    """False: the step is not checkpointed, so a resumed instance runs it again (for
    cheap or side-effect-free steps; a Delay with ``durable: false`` sleeps in place)."""


class RetryPolicy(DslModel):
    """Retry and timeout settings shared by Agent and EmbedWorkflow."""

    max_retries: NonNegativeInt = 3
    """Retries after the first attempt."""
    retry_delay: NonNegativeInt = 1000
    """Milliseconds before the first retry, doubled for each further one."""
    timeout: NonNegativeInt | None = None
    """Milliseconds an attempt may take."""


class AgentStep(StepBase, RetryPolicy):
    """Run one capability of an agent; its result becomes ``outputs``."""

    step_type: Literal["Agent"]
    agent_id: str
    """Agent, e.g. ``http``, ``transform``."""
    capability_id: str
    """Capability of the agent, e.g. ``http-request``."""
    input_mapping: InputMapping | None = None
    """Capability input field -> value."""
    connection_id: str | None = None
    """Stored connection handed to a secure agent (http, sftp) as ``_connection``."""


class ConditionalStep(StepBase):
    """Evaluate a condition and follow the ``true`` or ``false`` edge."""

    step_type: Literal["Conditional"]
    condition: Condition


class SwitchCase(DslModel):
    """One case: when ``value`` matches ``match``, the step outputs ``output``."""

    match_type: MatchType
    match: Any = None
    """Compared with the value; [min, max] for BETWEEN, {gte, gt, lte, lt} for RANGE."""
    output: Any = None
    """The step's output for this case; mapping values inside are resolved."""
    route: str | None = None
    """Routing Switch: the label of the edge taken when this case matches (no case
    matching takes the ``default`` edge); read as ``steps.<id>.route``."""


class SwitchConfig(DslModel):
    value: MappingValue
    """The value to match."""
    cases: list[SwitchCase] = []
    """Checked in order; the first match wins."""
    default: Any = None
    """Output when no case matches."""


class SwitchStep(StepBase):
    """Pick an output by matching a value against cases."""

    step_type: Literal["Switch"]
    config: SwitchConfig


class SplitConfig(DslModel):
    value: MappingValue
    """The array to iterate over."""
    parallelism: NonNegativeInt = 0
    """Items run at once (0 = unlimited)."""
    sequential: bool = False
    """Run items one after another."""
    dont_stop_on_failed: bool = False
    """Collect item failures instead of failing the step."""
    variables: InputMapping | None = None
    """Extra variables for the subgraph (it cannot see the parent's steps)."""
    max_retries: NonNegativeInt = 0
    """Retries of a failed item."""
    retry_delay: NonNegativeInt = 1000
    timeout: NonNegativeInt | None = None
    """Milliseconds an item may take."""
    batch_size: NonNegativeInt | None = None
    """Items handed to one subgraph run (accepted for Runtara; items run one by one)."""
    allow_null: bool = False
    """Accepted for Runtara: a null value is no items here either way."""
    convert_single_value: bool = False
    """A value that is not an array is iterated as a one-item array."""


class SplitStep(StepBase):
    """Run the subgraph once per item of an array (``data`` = the item)."""

    step_type: Literal["Split"]
    config: SplitConfig
    subgraph: ExecutionGraph
    input_schema: dict[str, Any] | None = None
    """Per-item input (documentation)."""
    output_schema: dict[str, Any] | None = None
    """Per-item output (documentation)."""


class WhileConfig(DslModel):
    max_iterations: NonNegativeInt = 10
    """Reaching it ends the loop normally."""
    timeout: NonNegativeInt | None = None
    """Milliseconds the whole loop may take."""
    variables: InputMapping | None = None
    """Extra variables for the subgraph, computed once before the first iteration."""


class WhileStep(StepBase):
    """Run the subgraph while the condition holds (``loop.index``, ``loop.outputs``)."""

    step_type: Literal["While"]
    condition: Condition
    subgraph: ExecutionGraph
    config: WhileConfig = WhileConfig()


class FilterConfig(DslModel):
    value: MappingValue
    """The array to filter."""
    condition: Condition
    """Evaluated per element, read as ``item.*``."""


class FilterStep(StepBase):
    """Keep the items for which the condition holds."""

    step_type: Literal["Filter"]
    config: FilterConfig


class GroupByConfig(DslModel):
    value: MappingValue
    """The array to group."""
    key: str
    """Path inside each item, e.g. ``customer.country``."""
    expected_keys: list[str] | None = None
    """Groups present in the output even when empty."""


class GroupByStep(StepBase):
    """Group the items of an array by a key path."""

    step_type: Literal["GroupBy"]
    config: GroupByConfig


class DelayStep(StepBase):
    """Wait; a durable delay ends the process and the runtime resumes it when due."""

    step_type: Literal["Delay"]
    duration_ms: MappingValue
    """Milliseconds to wait."""


class SignalAction(DslModel):
    """What a waiting step asks of whoever answers it (shown to the human or system)."""

    key: str | None = None
    """Name of the expected answer, e.g. ``approval_decision``."""
    correlation: InputMapping | None = None
    """Values that tell this wait apart (e.g. the case id)."""
    context: InputMapping | None = None
    """Values shown beside the request."""


class WaitForSignalStep(StepBase):
    """Wait durably for a signal sent to this instance and step; outputs its payload."""

    step_type: Literal["WaitForSignal"]
    timeout_ms: NonNegativeInt | MappingValue | None = None
    """Milliseconds; fail the step when no signal arrives in time (a number or a mapping
    value)."""
    poll_interval_ms: NonNegativeInt | None = None
    response_schema: dict[str, SchemaField] | None = None
    """Fields the signal's payload must have; a payload that does not fit fails the step."""
    action: SignalAction | None = None
    on_wait: ExecutionGraph | None = None
    """Subgraph run once when the wait starts (e.g. to send a notification)."""


def _accept_child_scenario_id(schema: dict[str, Any]) -> None:
    """JSON Schema: ``childScenarioId`` may stand in for ``childWorkflowId``."""
    properties = schema["properties"]
    properties["childScenarioId"] = {
        "type": "string",
        "description": "Older name of childWorkflowId (Runtara DSL 3.0).",
        "deprecated": True,
    }
    schema["required"] = [key for key in schema["required"] if key != "childWorkflowId"]
    schema["oneOf"] = [{"required": ["childWorkflowId"]}, {"required": ["childScenarioId"]}]


class EmbedWorkflowStep(StepBase, RetryPolicy):
    """Run another workflow (resolved at compile time) inside this instance."""

    model_config = ConfigDict(json_schema_extra=_accept_child_scenario_id)

    step_type: Literal["EmbedWorkflow", "StartScenario"]
    """``StartScenario`` is Runtara's older name."""
    child_workflow_id: str = Field(
        validation_alias=AliasChoices("childWorkflowId", "childScenarioId", "child_workflow_id")
    )
    """The child workflow (``childScenarioId`` in older documents)."""
    child_version: int | str
    """``latest``, ``current`` or a version number >= 1."""
    input_mapping: InputMapping | None = None
    """The child's input (its ``data``)."""


class LogStep(StepBase):
    """Emit a ``workflow_log`` event."""

    step_type: Literal["Log"]
    level: LogLevel = "info"
    message: str
    context: InputMapping | None = None
    """Values attached to the event."""


class ErrorStep(StepBase):
    """Fail the workflow (or hand over to an ``onError`` edge) with this error."""

    step_type: Literal["Error"]
    category: ErrorCategory = "permanent"
    """``transient`` errors may be retried, ``permanent`` ones not."""
    code: str
    message: str
    severity: ErrorSeverity | None = None
    context: InputMapping | None = None


class ConnectionStep(StepBase):
    """Fetch a stored connection's parameters for a secure agent (never logged)."""

    step_type: Literal["Connection"]
    connection_id: str
    """The stored connection."""
    integration_id: str
    """Its type, e.g. ``http_bearer``, ``sftp``."""


class FinishStep(StepBase):
    """End the workflow (or subgraph) with this output."""

    step_type: Literal["Finish"]
    input_mapping: InputMapping | None = None
    """Output key -> value."""


Step = Annotated[
    AgentStep
    | ConditionalStep
    | SwitchStep
    | SplitStep
    | WhileStep
    | FilterStep
    | GroupByStep
    | DelayStep
    | WaitForSignalStep
    | EmbedWorkflowStep
    | LogStep
    | ErrorStep
    | ConnectionStep
    | FinishStep,
    Field(discriminator="step_type"),
    TaggedUnionSchema("stepType"),
]
"""Any step, told apart by ``stepType``."""

"""The AiAgent step: a language model in a durable loop whose tools are workflow steps.

Each turn asks the model (the ``openai`` agent's ``chat-completion``, any
OpenAI-compatible server) for the next message; the tools it calls run as the steps the
agent's labelled edges lead to, their results (or errors) go back to the model, and the
loop ends with an answer without tool calls, or fails after ``maxIterations`` turns.

Durability: every model answer is checkpointed under ``<step>/turn[n]`` and every tool
call under ``<step>/tool[k]`` (``k`` counts calls across turns), so a process killed in
the middle of the loop replays what was done from its checkpoints and neither calls the
model nor runs a tool a second time. The conversation is rebuilt from them. Memory
(``<step>/memory/load``, ``/summarize``, ``/save``) is checkpointed the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtara.agents.invoke import invoke
from runtara.sdk.flow.errors import InputValidationError, StepFailed
from runtara.sdk.flow.runner import Run, progress, record
from runtara.sdk.flow.schema import validate_input
from runtara.sdk.flow.scope import Scope, StepInfo
from runtara.sdk.flow.steps import fetch_connection

MODEL_AGENT = "openai"
MODEL_CAPABILITY = "chat-completion"
DEFAULT_TURN_TIMEOUT_MS = 180_000
#: Longest tool result handed back to the model (characters of its JSON).
MAX_TOOL_RESULT_CHARS = 64 * 1024
SUMMARY_PROMPT = (
    "Summarize the following conversation in a few sentences, keeping every fact, "
    "decision and open question a later turn may need. Answer with the summary only."
)

ToolCall = Callable[[Run, Scope, dict[str, Any]], Any]


@dataclass(frozen=True)
class Tool:
    """One tool the model may call: a step (Agent, EmbedWorkflow, WaitForSignal) or an
    MCP toolset's ``search`` / ``invoke``."""

    name: str
    description: str
    call: ToolCall
    """Runs the tool with the model's arguments; returns a step record or a value."""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of the arguments."""

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class Memory:
    """Where the conversation is kept between runs: a memory provider agent."""

    agent_id: str
    connection_id: str | None
    conversation_id: Any
    max_messages: int | None = None
    strategy: str = "slidingWindow"


def fields_schema(fields: dict[str, Any] | None, *, open_: bool = False) -> dict[str, Any]:
    """The JSON Schema of a DSL field map (``{name: {type, required, enum, ...}}``)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (fields or {}).items():
        properties[name] = _field_schema(spec)
        if spec.get("required"):
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if not open_:
        schema["additionalProperties"] = False
    return schema


def _field_schema(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("type", "string")
    out: dict[str, Any]
    if kind == "file":
        out = {"type": "object", "description": "A file {content (base64), filename, mimeType}"}
    elif kind == "connection":
        out = {"type": "string"}
    elif kind == "any":
        out = {}
    else:
        out = {"type": kind}
    if kind == "array":
        items = spec.get("items")
        if isinstance(items, dict):
            out["items"] = _field_schema(items)
        elif isinstance(items, str) and items != "any":
            out["items"] = {"type": items}
    if kind == "object" and isinstance(spec.get("properties"), dict):
        out.update(fields_schema(spec["properties"], open_=True))
    if spec.get("description"):
        out["description"] = spec["description"]
    if spec.get("enum"):
        out["enum"] = list(spec["enum"])
    return out


def ai_agent(
    run: Run,
    sc: Scope,
    info: StepInfo,
    *,
    connection_id: str | None,
    system_prompt: Any,
    user_prompt: Any,
    model: Any = None,
    temperature: Any = None,
    max_tokens: Any = None,
    tools: list[Tool] | None = None,
    memory: Memory | None = None,
    output_schema: dict[str, Any] | None = None,
    max_iterations: int = 10,
    max_retries: int = 0,
    retry_delay_ms: int = 1000,
    turn_timeout_ms: int | None = None,
    timeout_ms: int | None = None,
    max_output_retries: int = 2,
) -> dict[str, Any]:
    """Run the AiAgent step (checkpointed as a whole once it has answered)."""
    loop = _Loop(
        run,
        sc,
        info,
        connection_id=connection_id,
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        tools=tools or [],
        turn_timeout_ms=turn_timeout_ms or DEFAULT_TURN_TIMEOUT_MS,
        max_retries=max_retries,
        retry_delay_ms=retry_delay_ms,
    )
    inputs = {"systemPrompt": system_prompt, "userPrompt": user_prompt, "model": model}
    return run.durable(
        sc,
        info,
        lambda: loop.answer(
            system_prompt,
            user_prompt,
            memory=memory,
            output_schema=output_schema,
            max_iterations=max_iterations,
            timeout_ms=timeout_ms,
            max_output_retries=max_output_retries,
        ),
        inputs=inputs,
    )


class _Loop:
    def __init__(
        self,
        run: Run,
        sc: Scope,
        info: StepInfo,
        *,
        connection_id: str | None,
        model: Any,
        temperature: Any,
        max_tokens: Any,
        tools: list[Tool],
        turn_timeout_ms: int,
        max_retries: int,
        retry_delay_ms: int,
    ) -> None:
        self.run = run
        self.sc = sc
        self.info = info
        self.key = sc.key(info.id)
        self.connection_id = connection_id
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.tools = {tool.name: tool for tool in tools}
        self.turn_timeout_ms = turn_timeout_ms
        self.max_retries = max_retries
        self.retry_delay_ms = retry_delay_ms
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.turns = 0
        self.tool_calls = 0
        self._connection: dict[str, Any] | None = None

    def _value(
        self, key: str, compute: Callable[[], Any], *, retries: int = 0, retry_delay_ms: int = 1000
    ) -> Any:
        """``compute()`` checkpointed under ``key``; with ``durable: false`` not saved (a
        resumed instance runs the whole loop again)."""
        if self.info.durable:
            return self.run.value(
                key, self.info, compute, retries=retries, retry_delay_ms=retry_delay_ms
            )
        return self.run.attempts(self.info, key, compute, retries, retry_delay_ms, None)

    # ------------------------------------------------------------------ the loop

    def answer(
        self,
        system_prompt: Any,
        user_prompt: Any,
        *,
        memory: Memory | None,
        output_schema: dict[str, Any] | None,
        max_iterations: int,
        timeout_ms: int | None,
        max_output_retries: int,
    ) -> dict[str, Any]:
        started = self._value(f"{self.key}/@started", lambda: int(time.time() * 1000))
        deadline = None if not timeout_ms else started / 1000 + timeout_ms / 1000
        history = self._load_memory(memory) if memory is not None else []
        messages: list[dict[str, Any]] = [{"role": "system", "content": _text(system_prompt)}]
        first = len(messages)
        messages += history
        messages.append({"role": "user", "content": _text(user_prompt)})
        response_format = None
        if output_schema:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": fields_schema(output_schema)},
            }
        trace: list[dict[str, Any]] = []
        reasks = 0
        response: Any = None
        finished = False
        while self.turns < max_iterations:
            if deadline is not None and time.time() > deadline:
                raise StepFailed(
                    self.info.id,
                    f"the agent did not answer within its timeout ({timeout_ms} ms)",
                    code="AI_TIMEOUT",
                )
            reply = self._model_turn(messages, response_format)
            message = reply["message"]
            messages.append(message)
            calls = message.get("tool_calls") or []
            if calls:
                for call in calls:
                    result = self._tool_call(call)
                    trace.append(result["trace"])
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.get("id"),
                            "content": result["content"],
                        }
                    )
                continue
            content = message.get("content") or ""
            if not output_schema:
                response, finished = content, True
                break
            parsed, problem = _structured(content, output_schema)
            if problem is None:
                response, finished = parsed, True
                break
            if reasks >= max_output_retries:
                raise StepFailed(
                    self.info.id,
                    f"the model's answer does not match outputSchema after {reasks + 1} "
                    f"attempt(s): {problem}",
                    code="AI_OUTPUT_INVALID",
                )
            reasks += 1
            messages.append(
                {
                    "role": "user",
                    "content": f"Your answer does not match the required JSON schema: {problem}. "
                    "Answer again with only a JSON object that matches it.",
                }
            )
        if not finished:
            raise StepFailed(
                self.info.id,
                f"the model did not give a final answer within maxIterations ({max_iterations}) turns",
                code="AI_MAX_ITERATIONS",
            )
        if memory is not None:
            self._save_memory(memory, messages[first:])
        outputs = {
            "response": response,
            "iterations": self.turns,
            "toolCalls": trace,
            "usage": dict(self.usage),
        }
        return record(self.info, outputs)

    # ------------------------------------------------------------------ model

    def connection(self) -> dict[str, Any]:
        if self._connection is None:
            if not self.connection_id:
                raise StepFailed(
                    self.info.id, "AiAgent step has no connectionId (a model connection)"
                )
            self._connection = fetch_connection(self.run, self.info, self.connection_id)
        return self._connection

    def _complete(
        self, messages: list[dict[str, Any]], *, tools: bool, response_format: Any = None
    ) -> dict[str, Any]:
        inputs: dict[str, Any] = {
            "messages": messages,
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "timeout_ms": self.turn_timeout_ms,
        }
        if tools and self.tools:
            inputs["tools"] = [tool.definition() for tool in self.tools.values()]
        if response_format is not None:
            inputs["response_format"] = response_format
        return invoke(
            MODEL_AGENT,
            MODEL_CAPABILITY,
            inputs,
            connection=self.connection(),
            step_id=self.info.id,
        )

    def _checkpointed_call(self, key: str, call: Callable[[], dict[str, Any]], turn: Any) -> Any:
        fresh = False

        def compute() -> dict[str, Any]:
            nonlocal fresh
            fresh = True
            return call()

        reply = self._value(
            key,
            compute,
            retries=self.max_retries,
            retry_delay_ms=self.retry_delay_ms,
        )
        usage = reply.get("usage") or {}
        for name in self.usage:
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                self.usage[name] += value
        if fresh:
            self.run.event(
                "ai_usage",
                {
                    "step_id": self.info.id,
                    "checkpoint_id": key,
                    "turn": turn,
                    "model": reply.get("model"),
                    "finish_reason": reply.get("finish_reason"),
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "completion_tokens": usage.get("completion_tokens"),
                    "total_tokens": usage.get("total_tokens"),
                },
            )
        return reply

    def _model_turn(self, messages: list[dict[str, Any]], response_format: Any) -> dict[str, Any]:
        self.turns += 1
        key = f"{self.key}/turn[{self.turns}]"
        snapshot = list(messages)
        reply = self._checkpointed_call(
            key,
            lambda: self._complete(snapshot, tools=True, response_format=response_format),
            self.turns,
        )
        message = reply.get("message")
        if not isinstance(message, dict):
            raise StepFailed(
                self.info.id, "the model's answer has no message", code="AI_BAD_RESPONSE"
            )
        return reply

    # ------------------------------------------------------------------ tools

    def _tool_call(self, call: dict[str, Any]) -> dict[str, Any]:
        """Run one tool call (checkpointed); what goes back to the model and the trace."""
        self.tool_calls += 1
        key = f"{self.key}/tool[{self.tool_calls}]"
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        outcome = self._value(key, lambda: self._dispatch(key, name, function))
        trace = {"id": call.get("id"), "name": name, "arguments": outcome.get("arguments")}
        if "error" in outcome:
            trace["error"] = outcome["error"]
            content: Any = {"error": outcome["error"]}
        else:
            trace["result"] = outcome["result"]
            content = outcome["result"]
        return {"trace": trace, "content": _tool_text(content)}

    def _dispatch(self, key: str, name: str, function: dict[str, Any]) -> dict[str, Any]:
        raw = function.get("arguments")
        try:
            arguments = json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or {})
        except ValueError as exc:
            return _error(None, f"the arguments are not valid JSON ({exc})", "AI_TOOL_ARGUMENTS")
        if not isinstance(arguments, dict):
            return _error(arguments, "the arguments must be a JSON object", "AI_TOOL_ARGUMENTS")
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(self.tools) or "none"
            return _error(
                arguments, f"there is no tool {name!r} (tools: {known})", "AI_UNKNOWN_TOOL"
            )
        progress(f"{self.info.label}: tool {name} ({key})")
        child = self.sc.child(data=self.sc.data, variables=self.sc.variables, prefix=key + "/")
        child.steps = dict(self.sc.steps)  # a tool reads the steps before the agent
        try:
            result = tool.call(self.run, child, arguments)
        except StepFailed as failure:
            progress(f"{self.info.label}: tool {name} failed: {failure.message}")
            self.run.event(
                "ai_tool_error",
                {"step_id": self.info.id, "tool": name, "checkpoint_id": key, "code": failure.code},
            )
            return _error(arguments, failure.message, failure.code)
        if isinstance(result, dict) and "outputs" in result and "stepId" in result:
            result = result["outputs"]
        return {"arguments": arguments, "result": result}

    # ------------------------------------------------------------------ memory

    def _memory_call(self, memory: Memory, capability: str, inputs: dict[str, Any]) -> Any:
        connection = None
        if memory.connection_id:
            connection = fetch_connection(self.run, self.info, memory.connection_id)
        return invoke(
            memory.agent_id, capability, inputs, connection=connection, step_id=self.info.id
        )

    def _load_memory(self, memory: Memory) -> list[dict[str, Any]]:
        conversation = _text(memory.conversation_id)
        loaded = self._value(
            f"{self.key}/memory/load",
            lambda: self._memory_call(memory, "load-memory", {"conversation_id": conversation}),
        )
        messages = loaded.get("messages") if isinstance(loaded, dict) else None
        # A summary from an earlier compaction is a system message: it stays.
        return [m for m in messages or [] if isinstance(m, dict) and m.get("role")]

    def _save_memory(self, memory: Memory, messages: list[dict[str, Any]]) -> None:
        messages = self._compact(memory, messages)
        conversation = _text(memory.conversation_id)
        self._value(
            f"{self.key}/memory/save",
            lambda: self._memory_call(
                memory, "save-memory", {"conversation_id": conversation, "messages": messages}
            ),
        )

    def _compact(self, memory: Memory, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = memory.max_messages
        if limit is None or len(messages) <= limit:
            return messages
        cut = len(messages) - limit
        kept = messages[cut:]
        # A tool result without the assistant message that asked for it is refused by
        # the API: such leading results go with the dropped part.
        while kept and kept[0].get("role") == "tool":
            kept, cut = kept[1:], cut + 1
        if memory.strategy != "summarize":
            return kept
        dropped = messages[:cut]
        transcript = "\n".join(f"{m.get('role')}: {_message_text(m)}" for m in dropped)
        prompt = [
            {"role": "system", "content": SUMMARY_PROMPT},
            {"role": "user", "content": transcript},
        ]
        reply = self._checkpointed_call(
            f"{self.key}/memory/summarize",
            lambda: self._complete(prompt, tools=False),
            "summarize",
        )
        summary = (reply.get("message") or {}).get("content") or ""
        return [
            {"role": "system", "content": f"Summary of the earlier conversation: {summary}"},
            *kept,
        ]


# --------------------------------------------------------------------------- helpers


def mcp_tool(info: StepInfo, capability: str, connection_id: str | None) -> ToolCall:
    """An MCP toolset's ``search`` or ``invoke``: the ``mcp`` agent's capability, run as
    the toolset's Agent step (checkpointed under the tool call's key)."""

    def call(run: Run, sc: Scope, arguments: dict[str, Any]) -> Any:
        connection = fetch_connection(run, info, connection_id) if connection_id else None
        return run.step(
            sc,
            info,
            lambda: invoke("mcp", capability, arguments, connection=connection, step_id=info.id),
            inputs=arguments,
        )

    return call


MCP_TOOLS = (
    (
        "search",
        "mcp-tool-search",
        "Find tools of the {0} MCP server that can do what the query says.",
    ),
    (
        "invoke",
        "mcp-tool-invoke",
        "Call a tool of the {0} MCP server by its exact name (from {0}_search) with its arguments.",
    ),
)
MCP_PARAMETERS = {
    "mcp-tool-search": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What the tool should do."},
            "limit": {"type": "integer", "description": "Most tools returned (default 5)."},
        },
        "required": ["query"],
    },
    "mcp-tool-invoke": {
        "type": "object",
        "properties": {
            "tool_name": {"type": "string", "description": "Exact tool name."},
            "args": {"type": "object", "description": "The tool's arguments."},
        },
        "required": ["tool_name"],
    },
}


def mcp_tools(toolset: str, info: StepInfo, connection_id: str | None) -> list[Tool]:
    """The two tools an ``mcp.<toolset>`` edge gives the model."""
    return [
        Tool(
            f"{toolset}_{role}",
            description.format(toolset),
            mcp_tool(info, capability, connection_id),
            MCP_PARAMETERS[capability],
        )
        for role, capability, description in MCP_TOOLS
    ]


def _error(arguments: Any, message: str, code: str | None) -> dict[str, Any]:
    return {"arguments": arguments, "error": {"message": message, "code": code}}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if content:
        return _text(content)
    calls = message.get("tool_calls") or []
    return "; ".join(
        f"calls {(c.get('function') or {}).get('name')}({(c.get('function') or {}).get('arguments')})"
        for c in calls
    )


def _tool_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_TOOL_RESULT_CHARS:
        text = text[:MAX_TOOL_RESULT_CHARS] + f"... [{len(text)} characters, cut]"
    return text


def _structured(content: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """The answer parsed and checked against ``outputSchema``: (value, None) or (None, why)."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.removeprefix("json").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return None, "the answer is not JSON"
    if not isinstance(value, dict):
        return None, "the answer is not a JSON object"
    try:
        return validate_input(value, schema), None
    except InputValidationError as exc:
        return None, str(exc).replace("input does not match inputSchema", "the object does not fit")


__all__ = ["Memory", "Tool", "ai_agent", "fields_schema", "mcp_tools"]

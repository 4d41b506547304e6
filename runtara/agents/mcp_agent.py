"""The ``mcp`` agent: search and call the tools of an MCP server over stdio.

An AiAgent's ``mcp.<toolset>`` edge gives the model two tools, ``<toolset>_search`` and
``<toolset>_invoke``, which run these capabilities. Each call starts the server named
by the ``mcp`` connection (``command``/``args``), speaks the Model Context Protocol to
it through the official ``mcp`` SDK (an optional extra: ``pip install 'runtara[mcp]'``,
imported only here, only when a capability runs), and stops it.

Starting a program is a host action, so an instance starts only the commands the
operator lists in ``RUNTARA_MCP_COMMANDS`` (comma-separated, as written in the
connection's ``command``); any other is refused.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

from runtara.agents.connections import connection_parameters
from runtara.agents.errors import InputError, PermanentError, TransientError
from runtara.agents.framework import Doc, InputSpec, agent, connection_type

MCP = "mcp"
ALLOW_ENV = "RUNTARA_MCP_COMMANDS"
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
TIMEOUT_S = 60.0

mcp_connection = connection_type(
    MCP,
    name="MCP server (stdio)",
    description=(
        "A Model Context Protocol server started as a program; the instance may start it "
        f"only when the command is listed in {ALLOW_ENV}."
    ),
    agents=(MCP,),
    parameters=(
        InputSpec("command", "string", required=True, description="Program to start."),
        InputSpec("args", "array", items="string", description="Its arguments."),
        InputSpec(
            "env",
            "object",
            secret=True,
            description="Environment variables for the server (e.g. its API token).",
        ),
        InputSpec("cwd", "string", description="Working directory of the server."),
        InputSpec(
            "tool_scope",
            "array",
            items="string",
            description="Only these tools may be searched and called (all when empty).",
        ),
    ),
)

mcp_agent = agent(
    MCP,
    name="MCP (Model Context Protocol)",
    description="Discover and call the tools of an MCP server; used through AiAgent `mcp.<toolset>` edges.",
    secure=True,
)


@mcp_agent.capability(
    output="`{tools: [{name, description, inputSchema, score}], total_available}`",
    side_effects=False,
)
def mcp_tool_search(
    *,
    query: Annotated[str, Doc("What the tool should do, in words.")],
    limit: Annotated[int | None, Doc("Most tools returned (default 5, at most 20).")] = None,
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Find the server's tools that best match a query."""
    server = _server(_connection, "mcp:mcp-tool-search")
    tools = _run(_list_tools(server))
    scope = server["tool_scope"]
    if scope:
        tools = [t for t in tools if t["name"] in scope]
    count = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
    words = _words(query)
    ranked = []
    for tool in tools:
        text = _words(f"{tool['name']} {tool.get('description') or ''}")
        score = len(words & text) / len(words) if words else 0.0
        ranked.append({**tool, "score": round(score, 4)})
    ranked.sort(key=lambda t: -t["score"])
    return {"tools": ranked[:count], "total_available": len(tools)}


@mcp_agent.capability(
    output="`{text, content, is_error, structured}`: text joins the text blocks.",
    side_effects=True,
)
def mcp_tool_invoke(
    *,
    tool_name: Annotated[str, Doc("Exact tool name, as mcp-tool-search returned it.")],
    args: Annotated[Any, Doc("Arguments matching the tool's input schema.")] = None,
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Call one tool of the server."""
    server = _server(_connection, "mcp:mcp-tool-invoke")
    scope = server["tool_scope"]
    if scope and tool_name not in scope:
        raise PermanentError(
            f"tool {tool_name!r} is not in the connection's tool_scope",
            code="MCP_TOOL_OUT_OF_SCOPE",
        )
    if args is not None and not isinstance(args, Mapping):
        raise InputError("args must be an object", field="args")
    return _run(_call_tool(server, tool_name, dict(args or {})))


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) > 1}


def _server(connection: Mapping[str, Any] | None, capability: str) -> dict[str, Any]:
    _, params = connection_parameters(connection, expected=(MCP,), capability=capability)
    command = params.get("command")
    if not isinstance(command, str) or not command:
        raise InputError("mcp connection has no command", field="_connection")
    allowed = [c.strip() for c in os.environ.get(ALLOW_ENV, "").split(",") if c.strip()]
    if command not in allowed:
        raise PermanentError(
            f"MCP server command {command!r} is not allowed on this runtime (the operator "
            f"lists the commands instances may start in {ALLOW_ENV})",
            code="MCP_COMMAND_NOT_ALLOWED",
        )
    args = params.get("args") or []
    env = params.get("env") or {}
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InputError("mcp connection 'args' must be a list of strings", field="_connection")
    if not isinstance(env, Mapping):
        raise InputError("mcp connection 'env' must be an object", field="_connection")
    scope = params.get("tool_scope") or []
    return {
        "command": command,
        "args": list(args),
        "env": {str(k): str(v) for k, v in env.items()},
        "cwd": params.get("cwd") or None,
        "tool_scope": [str(s) for s in scope] if isinstance(scope, list) else [],
    }


def _run(coroutine: Any) -> Any:
    try:
        return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT_S))
    except TimeoutError:
        raise TransientError(
            f"the MCP server did not answer within {TIMEOUT_S:g} s", code="MCP_TIMEOUT"
        ) from None
    except (PermanentError, TransientError):
        raise
    except OSError as exc:
        raise PermanentError(
            f"the MCP server could not be started: {exc.strerror or exc}", code="MCP_START_ERROR"
        ) from None
    except Exception as exc:
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and len(cause.exceptions) == 1:
            cause = cause.exceptions[0]  # anyio's task groups wrap the one real error
        raise PermanentError(
            f"MCP error: {type(cause).__name__}: {cause}", code="MCP_PROTOCOL_ERROR"
        ) from None


def _session(server: dict[str, Any]) -> Any:
    try:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
    except ImportError:
        raise PermanentError(
            "the mcp agent needs the MCP SDK: pip install 'runtara[mcp]'", code="MCP_NOT_INSTALLED"
        ) from None
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(server["env"])
    parameters = StdioServerParameters(
        command=server["command"], args=server["args"], env=env, cwd=server["cwd"]
    )
    return ClientSession, stdio_client(parameters)


async def _list_tools(server: dict[str, Any]) -> list[dict[str, Any]]:
    session_type, transport = _session(server)
    async with transport as (read, write), session_type(read, write) as session:
        await session.initialize()
        result = await session.list_tools()
    return [
        {
            "name": tool.name,
            "description": tool.description or "",
            "inputSchema": tool.input_schema,
        }
        for tool in result.tools
    ]


async def _call_tool(server: dict[str, Any], name: str, args: dict[str, Any]) -> dict[str, Any]:
    session_type, transport = _session(server)
    async with transport as (read, write), session_type(read, write) as session:
        await session.initialize()
        result = await session.call_tool(name, arguments=args)
    content = [
        block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content
    ]
    texts = [
        block.get("text", "") if block.get("type") == "text" else f"[{block.get('type')} omitted]"
        for block in content
    ]
    return {
        "text": "\n".join(texts),
        "content": content,
        "is_error": bool(result.is_error),
        "structured": getattr(result, "structured_content", None),
    }

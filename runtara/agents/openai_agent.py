"""The ``openai`` agent: one Chat Completions call, with tool calling, to any
OpenAI-compatible server (OpenAI, Azure OpenAI's v1 API, vLLM, Ollama, llama.cpp's
server, LM Studio...).

It speaks plain HTTP through the same transport as the ``http`` agent (redirects to
another origin drop the credentials, limits on time and size, TLS verification), so it
needs nothing outside the standard library. The AiAgent step's loop
(``runtara.sdk.flow.ai``) calls ``chat-completion`` once per turn.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

from runtara.agents import _http_transport as transport
from runtara.agents.connections import connection_parameters
from runtara.agents.errors import InputError, PermanentError, TransientError
from runtara.agents.framework import Doc, InputSpec, agent, connection_type

OPENAI = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_MS = 180_000
MAX_RESPONSE_BYTES = 16 * 2**20
#: Statuses after which the same request may succeed later.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
ERROR_CHARS = 500
#: A header name (RFC 9110 token).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

openai_connection = connection_type(
    OPENAI,
    name="OpenAI-compatible model server",
    description=(
        "A Chat Completions endpoint: OpenAI itself, or any server that speaks its API "
        "(vLLM, Ollama, llama.cpp, LM Studio, Azure OpenAI v1)."
    ),
    agents=(OPENAI,),
    parameters=(
        InputSpec(
            "api_key",
            "string",
            required=True,
            secret=True,
            description="Sent as `Authorization: Bearer <api_key>` (any text for a local server that takes none).",
        ),
        InputSpec(
            "base_url",
            "string",
            default=DEFAULT_BASE_URL,
            description="The API root that `/chat/completions` is joined to, e.g. `http://127.0.0.1:11434/v1`.",
        ),
        InputSpec(
            "model",
            "string",
            required=True,
            description="Model used when the AiAgent step names none, e.g. `gpt-4o-mini`.",
        ),
        InputSpec(
            "organization",
            "string",
            description="Sent as `OpenAI-Organization` when set.",
        ),
        InputSpec(
            "api_key_header",
            "string",
            description=(
                "Send the key as this header instead of `Authorization: Bearer` (Azure "
                "OpenAI's key auth: `api-key`)."
            ),
        ),
    ),
)

openai_agent = agent(
    OPENAI,
    name="OpenAI-compatible model",
    description="Chat Completions with tool calling against an `openai` connection.",
    secure=True,
)


@openai_agent.capability(
    output=(
        "`{message, finish_reason, usage, model}`: message is the assistant message "
        "(`content`, `tool_calls`), usage `{prompt_tokens, completion_tokens, total_tokens}`."
    ),
    side_effects=True,
)
def chat_completion(
    *,
    messages: Annotated[list[dict[str, Any]], Doc("The conversation, oldest first.")],
    model: Annotated[str | None, Doc("Model name; default: the connection's model.")] = None,
    tools: Annotated[
        list[dict[str, Any]] | None, Doc("Tools as Chat Completions function definitions.")
    ] = None,
    temperature: Annotated[float | None, Doc("Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, Doc("Most tokens in the answer.")] = None,
    response_format: Annotated[
        dict[str, Any] | None, Doc("E.g. `{type: json_schema, json_schema: {...}}`.")
    ] = None,
    timeout_ms: Annotated[int, Doc("Timeout of the call, in milliseconds.")] = DEFAULT_TIMEOUT_MS,
    verify_tls: Annotated[bool, Doc("Verify the server's TLS certificate.")] = True,
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Ask the model for the next message of a conversation."""
    _, params = connection_parameters(
        _connection, expected=(OPENAI,), capability="openai:chat-completion"
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = _header_value(params, "api_key")
    key_header = str(params.get("api_key_header") or "Authorization")
    if key_header.lower() == "authorization":
        headers["Authorization"] = f"Bearer {key}"
    elif _TOKEN.fullmatch(key_header):
        headers[key_header] = key
    else:
        raise InputError(
            "openai connection: api_key_header is not a header name", field="_connection"
        )
    organization = params.get("organization")
    if organization:
        headers["OpenAI-Organization"] = _header_value(params, "organization")
    chosen = model or params.get("model")
    if not chosen:
        raise InputError("no model: the step names none and the connection has none", field="model")
    body: dict[str, Any] = {"model": chosen, "messages": messages}
    if tools:
        body["tools"] = tools
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if response_format is not None:
        body["response_format"] = response_format
    url = str(params.get("base_url") or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
    if timeout_ms <= 0:
        raise InputError("timeout_ms must be positive", field="timeout_ms")
    limits = transport.Limits(
        timeout_s=timeout_ms / 1000,
        max_redirects=5,
        max_response_bytes=MAX_RESPONSE_BYTES,
        follow_redirects=True,
    )
    response = transport.send(
        "POST",
        url,
        headers,
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        limits,
        transport.tls_context(verify_tls, None),
        credentials=frozenset({"authorization", "openai-organization", key_header.lower()}),
    )
    if not 200 <= response.status < 300:
        raise _status_error(response)
    try:
        reply = json.loads(response.body)
        choice = reply["choices"][0]
        message = choice["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise PermanentError(
            f"POST {transport.display_url(url)}: the answer is not a Chat Completions "
            "response (no choices[0].message)",
            code="AI_BAD_RESPONSE",
        ) from None
    return {
        "message": _clean_message(message),
        "finish_reason": choice.get("finish_reason"),
        "usage": reply.get("usage") or {},
        "model": reply.get("model") or chosen,
    }


def _clean_message(message: Any) -> dict[str, Any]:
    """The assistant message as it goes back into the conversation."""
    if not isinstance(message, Mapping):
        raise PermanentError("choices[0].message is not an object", code="AI_BAD_RESPONSE")
    content = message.get("content")
    if isinstance(content, list):  # content parts: their text, in order
        content = "".join(
            str(part.get("text") or "") for part in content if isinstance(part, Mapping)
        )
    out: dict[str, Any] = {"role": "assistant", "content": content}
    calls = message.get("tool_calls")
    if calls:
        out["tool_calls"] = [
            {
                "id": str(call.get("id") or f"call_{index}"),
                "type": "function",
                "function": {
                    "name": str((call.get("function") or {}).get("name") or ""),
                    "arguments": _arguments_text((call.get("function") or {}).get("arguments")),
                },
            }
            for index, call in enumerate(calls)
            if isinstance(call, Mapping)
        ]
    return out


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def _header_value(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"openai connection has no {name!r}", field="_connection")
    if "\r" in value or "\n" in value:
        raise InputError(
            f"openai connection parameter {name!r} contains a line break", field="_connection"
        )
    return value


def _status_error(response: transport.Response) -> PermanentError | TransientError:
    detail = ""
    try:
        parsed = json.loads(response.body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, Mapping):
            detail = str(error.get("message") or "")
        elif isinstance(error, str):
            detail = error
    except ValueError:
        detail = response.body[:ERROR_CHARS].decode("utf-8", errors="replace")
    message = f"model server answered {response.status} {response.reason}".rstrip()
    if detail:
        message += f": {detail[:ERROR_CHARS]}"
    code = f"AI_HTTP_{response.status}"
    if response.status in TRANSIENT_STATUSES:
        error_out = TransientError(message, code=code)
        error_out.retry_after_ms = _retry_after_ms(response.header("retry-after"))
        return error_out
    return PermanentError(message, code=code)


def _retry_after_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip()) * 1000
    try:
        return max(int((parsedate_to_datetime(value).timestamp() - time.time()) * 1000), 0)
    except (TypeError, ValueError):
        return None

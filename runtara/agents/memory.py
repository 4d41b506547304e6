"""The ``object_model`` agent's conversation memory: AiAgent history kept across runs.

An AiAgent's ``memory`` edge leads to an Agent step of a memory provider; the agent
loop calls its ``load-memory`` before the first turn and ``save-memory`` after the last
(whatever capability the step itself names, as in Runtara). This provider keeps the
conversations in a SQLite database (standard library) whose file the ``object_model``
connection names; instances that share the file share the conversations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from typing import Annotated, Any

from runtara.agents.connections import connection_parameters
from runtara.agents.errors import InputError, TransientError
from runtara.agents.framework import Doc, InputSpec, agent, connection_type

OBJECT_MODEL = "object_model"

object_model_connection = connection_type(
    OBJECT_MODEL,
    name="Conversation memory store",
    description="A SQLite database file holding AiAgent conversations.",
    agents=(OBJECT_MODEL,),
    parameters=(
        InputSpec(
            "database",
            "string",
            required=True,
            description="Path of the SQLite file (created when missing).",
        ),
    ),
)

memory_agent = agent(
    OBJECT_MODEL,
    name="Object model (conversation memory)",
    description="Conversation memory for AiAgent steps (`memory` edge).",
    secure=True,
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ai_conversation_memory ("
    " conversation_id TEXT PRIMARY KEY, messages TEXT NOT NULL, message_count INTEGER NOT NULL)"
)


def _open(connection: Mapping[str, Any] | None, capability: str) -> sqlite3.Connection:
    _, params = connection_parameters(connection, expected=(OBJECT_MODEL,), capability=capability)
    path = params.get("database")
    if not isinstance(path, str) or not path:
        raise InputError("object_model connection has no database", field="_connection")
    try:
        db = sqlite3.connect(path, timeout=30)
        db.execute(_SCHEMA)
    except sqlite3.Error as exc:
        raise TransientError(
            f"memory store unavailable: {exc}", code="MEMORY_STORE_ERROR"
        ) from None
    return db


@memory_agent.capability(
    output="`{success, messages, message_count}`: the stored conversation, oldest first.",
    side_effects=False,
)
def load_memory(
    *,
    conversation_id: Annotated[str, Doc("The conversation to load.")],
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Load an AI agent's conversation by its id (empty when there is none yet)."""
    with closing(_open(_connection, "object_model:load-memory")) as db:
        row = db.execute(
            "SELECT messages FROM ai_conversation_memory WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
    messages = json.loads(row[0]) if row else []
    return {"success": True, "messages": messages, "message_count": len(messages)}


@memory_agent.capability(
    output="`{success, message_count}`",
    side_effects=True,
)
def save_memory(
    *,
    conversation_id: Annotated[str, Doc("The conversation to save.")],
    messages: Annotated[list[Any], Doc("The whole conversation, oldest first.")],
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Replace an AI agent's stored conversation."""
    text = json.dumps(messages, ensure_ascii=False)
    with closing(_open(_connection, "object_model:save-memory")) as db, db:
        db.execute(
            "INSERT INTO ai_conversation_memory (conversation_id, messages, message_count) "
            "VALUES (?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE SET "
            "messages = excluded.messages, message_count = excluded.message_count",
            (conversation_id, text, len(messages)),
        )
    return {"success": True, "message_count": len(messages)}

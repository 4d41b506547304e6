"""Secrets never leave through outputs, errors or events."""

from __future__ import annotations

import base64
import subprocess
import sys

from runtara.agents.redaction import MASK, redact, secret_values

CONNECTION = {
    "integration_id": "http_basic",
    "parameters": {"username": "ann", "password": "correct-horse", "base_url": "https://x"},
}


def test_secret_keys_are_masked_at_any_depth() -> None:
    event = {
        "inputs": {"headers": {"Authorization": "Bearer abc", "X-Trace": "1"}},
        "_connection": {"parameters": {"token": "abc"}},
        "items": [{"api_key": "k"}, {"password": None}],
    }

    assert redact(event) == {
        "inputs": {"headers": {"Authorization": MASK, "X-Trace": "1"}},
        "_connection": MASK,
        "items": [{"api_key": MASK}, {"password": None}],
    }


def test_connection_secret_values_are_masked_inside_strings() -> None:
    basic = base64.b64encode(b"ann:correct-horse").decode()
    text = f"login failed for correct-horse (header Basic {basic})"

    assert redact(text, CONNECTION) == f"login failed for {MASK} (header Basic {MASK})"


def test_non_secret_parameters_are_kept() -> None:
    assert secret_values(CONNECTION) >= {"correct-horse"}
    assert "ann" not in secret_values(CONNECTION)
    assert redact({"base_url": "https://x"}, CONNECTION) == {"base_url": "https://x"}


def test_redact_does_not_modify_its_input() -> None:
    value = {"token": "t0ken", "list": ["t0ken"]}

    redact(value, {"parameters": {"token": "t0ken"}})

    assert value == {"token": "t0ken", "list": ["t0ken"]}


def test_keys_ending_like_credentials_are_masked_too() -> None:
    event = {"db_password": "pw1", "Client-Secret": "s", "access_token": "a", "next": "n"}

    assert redact(event) == {
        "db_password": MASK,
        "Client-Secret": MASK,
        "access_token": MASK,
        "next": "n",
    }


def test_parameters_a_connection_type_declares_secret_are_masked_whatever_their_name() -> None:
    # In a process of its own: the connection type registry is global.
    code = """
from runtara.agents.framework import InputSpec, connection_type
from runtara.agents.redaction import redact
connection_type("acme_cert", name="Acme client certificate", agents=("http",),
    parameters=(InputSpec("client_cert", "string", required=True, secret=True),))
connection = {"integration_id": "acme_cert", "parameters": {"client_cert": "MIIC-cert-body"}}
print(redact("handshake with MIIC-cert-body failed", connection))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == f"handshake with {MASK} failed\n"

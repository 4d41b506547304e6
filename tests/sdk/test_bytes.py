"""Bytes where the seed's API takes them: outputs, errors, checkpoint states and signal
payloads accept bytes and JSON values alike and read back as what was given, through
the SDK, the management client and ``runtara instances output``."""

from __future__ import annotations

import subprocess
import sys

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.sdk import Runtara


def start(instance_id: str) -> Runtara:
    return Runtara.localhost(instance_id, "tenant-1").register()


def test_completed_with_bytes_reads_back_as_bytes(runtime: EmbeddedRuntime, client: Client) -> None:
    start("batch-bytes").completed(b"All orders processed")  # as the seed's example writes it
    assert client.get_instance("batch-bytes")["output"] == b"All orders processed"
    assert client.get_output("batch-bytes")["output"] == b"All orders processed"
    where = ["--url", runtime.url, "--tenant", "tenant-1"]
    shown = subprocess.run(
        [sys.executable, "-m", "runtara", "instances", "output", "batch-bytes", *where],
        capture_output=True,
        timeout=60,
    )
    assert (shown.returncode, shown.stdout) == (0, b"All orders processed")


def test_json_and_nested_bytes_outputs_read_back_as_given(client: Client) -> None:
    given = {"report": b"\x00\xffraw", "rows": [1, b"two"], "name": "ok"}
    start("nested").completed(given)
    assert client.get_instance("nested")["output"] == given
    start("plain").completed({"processed": 3})
    assert client.get_instance("plain")["output"] == {"processed": 3}


def test_failed_with_bytes_reads_back_as_bytes(client: Client) -> None:
    start("broken").failed(b"\x89PNG partial")
    shown = client.get_output("broken")
    assert (shown["status"], shown["error"]) == ("failed", b"\x89PNG partial")


def test_checkpoint_state_with_bytes_inside_reads_back(runtime: EmbeddedRuntime) -> None:
    state = {"cursor": 7, "page": b"\x01\x02\x03"}
    assert start("paged").checkpoint("page-7", state).existing_state is None
    rerun = start("paged")
    assert rerun.checkpoint("page-7", {"ignored": True}).existing_state == state
    assert rerun.get_checkpoint("page-7") == state


def test_signal_payload_bytes_reach_the_instance(client: Client) -> None:
    rt = start("approval")
    client.send_signal("approval", "decision", b"\x00approved")
    assert rt.wait_for_signal("decision", timeout=30) == b"\x00approved"
    client.send_signal("approval", "note", {"by": "ada", "scan": b"%PDF"})
    assert rt.wait_for_signal("note", timeout=30) == {"by": "ada", "scan": b"%PDF"}

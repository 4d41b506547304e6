"""Editor answers on 10, 300 and 1,000-step workflows: VS Code's JSON engine and ``runtara lsp``.

    python benchmarks/editing.py [--sizes 10,300,1000] [--repeat 5] [--before REV]

Side by side, per document size, in milliseconds (median of ``--repeat``):

* VS Code's engine (vscode-json-languageservice under Node, as VS Code runs it) on the
  committed ``runtara/schemas/workflow.schema.json``: completion of ``capabilityId``
  and hover on an input key near the end of the document (on the parsed document, as
  VS Code keeps it per version), and re-validation after an edit (parse + validate).
  The engine's own timing, so Node start-up and the pipe do not count.
* ``runtara lsp`` over stdio with a real client: completion of ``steps['<id>'].outputs.``
  and hover on a reference near the end (request to response), and diagnostics after
  an edit (didChange to publishDiagnostics, including the server's debounce).

Baselines measured in the same run: parsing alone (the engine's ``parseJSONDocument``;
the loader's ``parse_json``), and, with ``--before REV`` (default: the commit before
this schema's restructuring, when the clone has it), the engine on that revision's
schema. Targets: completion and hover under 100 ms, re-validation under 300 ms, LSP
diagnostics within 200 ms at 1,000 steps.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from runtara.dsl import parse_json  # noqa: E402
from runtara.dsl.schema import SCHEMA_PATH  # noqa: E402
from runtara.lsp.server import DEBOUNCE_SECONDS, Lines  # noqa: E402
from tests.editors import documents  # noqa: E402
from tests.editors.vscode_engine import VsCodeJson  # noqa: E402

BEFORE = "9434a73"  # main before the editor restructuring (issue 15)


def engine_times(schema: Path, text: str, repeat: int) -> dict[str, float | str]:
    """complete / hover / validate in ms, or the engine's error (e.g. its RangeError)."""
    uri = (ROOT / "bench.workflow.json").as_uri()
    last_agent = text.rindex('"capabilityId": "http-request"') + len('"capabilityId": "http')
    line = text.count("\n", 0, last_agent)
    character = last_agent - (text.rfind("\n", 0, last_agent) + 1)
    url = text.rindex('"url": {') + 2
    url_line, url_character = text.count("\n", 0, url), url - (text.rfind("\n", 0, url) + 1)
    out: dict[str, float | str] = {}
    with VsCodeJson(schema) as engine:
        requests = {
            "complete": {"op": "complete", "line": line, "character": character},
            "hover": {"op": "hover", "line": url_line, "character": url_character},
            "validate": {"op": "validate"},
        }
        for name, request in requests.items():
            engine.request(uri=uri, text=text, **request)  # warm: schema load and compile
            answer = engine.request(uri=uri, text=text, repeat=repeat, **request)
            out[name] = answer["ms"] if "error" not in answer else answer["error"].split(":")[0]
    return out


def engine_parse_ms(text: str, repeat: int) -> float:
    """The engine's parse alone: validation of a schema that accepts everything."""
    with tempfile.TemporaryDirectory() as directory:
        empty = Path(directory) / "any.schema.json"
        empty.write_text('{"$schema": "https://json-schema.org/draft/2020-12/schema"}')
        with VsCodeJson(empty) as engine:
            uri = (Path(directory) / "x.json").as_uri()
            engine.request(op="validate", uri=uri, text=text)
            return float(engine.request(op="validate", uri=uri, text=text, repeat=repeat)["ms"])


async def lsp_times(text: str, repeat: int) -> dict[str, float]:
    """complete / hover / diagnostics (after an edit) in ms, through a real client."""
    client = LanguageClient("benchmark", "1")
    await client.start_io(sys.executable, "-m", "runtara", "lsp")
    published: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
        published.put_nowait(params)

    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = (ROOT / "bench.workflow.json").as_uri()
    document = types.TextDocumentIdentifier(uri)
    lines = Lines(text)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "json", 1, text))
    )
    while (await published.get()).version != 1:
        pass
    reference = text.rindex("steps['")
    outputs = text.index(".outputs", reference) + len(".outputs.")
    at_outputs = lines.position(outputs)
    at_reference = lines.position(reference + len("steps['") + 1)

    async def timed(call: Any) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            await call()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    out = {
        "complete": await timed(
            lambda: client.text_document_completion_async(
                types.CompletionParams(document, at_outputs)
            )
        ),
        "hover": await timed(
            lambda: client.text_document_hover_async(types.HoverParams(document, at_reference))
        ),
    }
    times = []
    name_at = text.index('"name": "') + len('"name": "')
    for version in range(2, 2 + repeat):
        edit = types.TextDocumentContentChangePartial(
            range=lines.range(name_at, name_at + 1), text="o" if version % 2 else "p"
        )
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri), [edit]
            )
        )
        while (await published.get()).version != version:
            pass
        times.append((time.perf_counter() - start) * 1000)
    out["diagnostics"] = statistics.median(times)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return out


def before_schema(revision: str, directory: Path) -> Path | None:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:runtara/schemas/workflow.schema.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    path = directory / "before.schema.json"
    path.write_text(done.stdout, encoding="utf-8")
    return path


def cell(value: float | str) -> str:
    return f"{value:>10.1f}" if isinstance(value, float) else f"{value:>10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,300,1000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default=BEFORE, help="git revision of a baseline schema")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        before = before_schema(args.before, Path(directory)) if args.before else None
        header = (
            f"{'steps':>6} {'KiB':>6} | {'complete':>10}{'hover':>10}{'validate':>10}"
            f"{'parse':>10} | {'complete':>10}{'hover':>10}{'diagnose':>10}{'parse':>10}"
        )
        print("editing: milliseconds, median of", args.repeat)
        print(f"{'':>15}| {'VS Code JSON engine, committed schema':<40}| runtara lsp")
        print(header)
        rows_before = []
        for size in sizes:
            text = documents.text(size)
            engine = engine_times(SCHEMA_PATH, text, args.repeat)
            parse = engine_parse_ms(text, args.repeat)
            lsp = asyncio.run(lsp_times(text, args.repeat))
            started = time.perf_counter()
            for _ in range(args.repeat):
                parse_json(text).source_map.value("/steps")
            py_parse = (time.perf_counter() - started) * 1000 / args.repeat
            print(
                f"{size:>6} {len(text) / 1024:>6.0f} | "
                + "".join(cell(engine[k]) for k in ("complete", "hover", "validate"))
                + cell(parse)
                + " | "
                + "".join(cell(lsp[k]) for k in ("complete", "hover", "diagnostics"))
                + cell(py_parse)
            )
            if before is not None:
                rows_before.append((size, engine_times(before, text, args.repeat)))
        if rows_before:
            print(f"\nbaseline: the engine on the schema of {args.before} (before restructuring)")
            for size, times in rows_before:
                print(
                    f"{size:>6} {'':>6} | "
                    + "".join(cell(times[k]) for k in ("complete", "hover", "validate"))
                )
    print(
        "\nparse = baseline (engine: parseJSONDocument; lsp: dsl.parse_json + source map);"
        f" diagnose includes the server's {DEBOUNCE_SECONDS * 1000:.0f} ms debounce."
    )
    print("targets at 1,000 steps: complete, hover < 100; validate < 300; diagnose < 200")


if __name__ == "__main__":
    main()

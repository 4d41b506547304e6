"""``runtara validate`` and ``runtara schema`` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtara.dsl.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HELLO = json.loads((EXAMPLES / "hello.json").read_text(encoding="utf-8"))


def runtara(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def with_unknown_agent() -> dict[str, object]:
    document = json.loads(json.dumps(HELLO))
    document["steps"]["format_name"]["agentId"] = "txt"
    return document


def test_examples_validate_cleanly() -> None:
    result = runtara("validate", "examples/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "file(s) valid: 0 error(s), 0 warning(s)" in result.stderr


def test_errors_are_printed_as_file_line_col_code_message(tmp_path: Path) -> None:
    bad = write(tmp_path / "flows" / "bad.json", with_unknown_agent())
    write(tmp_path / "flows" / "nested" / "good.json", HELLO)
    result = runtara("validate", str(tmp_path / "flows"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if '"txt"' in text)
    assert lines[0].startswith(f"{bad}:{line}:")
    assert " E020 Step 'format_name' uses unknown agent 'txt'. Did you mean 'text'?" in lines[0]
    assert "1 of 2 file(s) valid" in result.stderr


def test_json_format_lists_every_file_with_its_diagnostics(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", with_unknown_agent())
    good = write(tmp_path / "good.json", HELLO)
    result = runtara("validate", str(good), str(bad), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [(f["file"], f["valid"]) for f in report["files"]] == [
        (str(good), True),
        (str(bad), False),
    ]
    (diagnostic,) = report["files"][1]["diagnostics"]
    assert set(diagnostic) == {"code", "severity", "message", "line", "column", "path"}
    assert (diagnostic["code"], diagnostic["severity"]) == ("E020", "error")
    assert diagnostic["path"] == "/steps/format_name/agentId"


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    document = json.loads(json.dumps(HELLO))
    document["steps"]["format_name"]["maxRetries"] = 99
    path = write(tmp_path / "retries.json", document)
    result = runtara("validate", str(path))
    assert result.returncode == 0
    assert " W030 " in result.stdout


def test_malformed_json_exits_2_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "steps": {\n    "a": {"id": "a",}\n  }\n}', encoding="utf-8")
    result = runtara("validate", str(path))
    assert result.returncode == 2
    assert result.stdout.startswith(f"{path}:3:21: S000 malformed JSON")
    assert "Traceback" not in result.stderr


def test_unreadable_inputs_exit_2_without_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "noise.json"
    binary.write_bytes(bytes(range(256)))
    result = runtara("validate", str(binary), str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "S000 file is not valid UTF-8" in result.stdout
    assert f"{tmp_path / 'missing.json'}:1:1: S000 cannot read file" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_globs_select_files(tmp_path: Path) -> None:
    write(tmp_path / "a.json", HELLO)
    write(tmp_path / "b.json", with_unknown_agent())
    result = runtara("validate", "a*.json", cwd=tmp_path)
    assert result.returncode == 0
    assert "1 of 1 file(s) valid" in result.stderr
    nothing = runtara("validate", "zzz*.json", cwd=tmp_path)
    assert nothing.returncode == 2


def test_child_workflows_come_from_the_run_and_child_option(tmp_path: Path) -> None:
    parent = {
        "steps": {
            "embed": {
                "stepType": "EmbedWorkflow",
                "id": "embed",
                "childWorkflowId": "greeter",
                "childVersion": "latest",
            },
            "done": {"stepType": "Finish", "id": "done"},
        },
        "entryPoint": "embed",
        "executionPlan": [{"fromStep": "embed", "toStep": "done"}],
    }
    path = write(tmp_path / "parent.json", parent)
    # Alone, the children are not known at all (as in Runtara): nothing to say about them.
    assert runtara("validate", str(path)).returncode == 0
    write(tmp_path / "elsewhere" / "other.json", HELLO)
    named = runtara("validate", str(path), "--child", str(tmp_path / "elsewhere"))
    assert named.returncode == 1
    assert "E051 Step 'embed': unknown child workflow 'greeter'" in named.stdout
    child = write(tmp_path / "children" / "greeter.json", HELLO)
    assert runtara("validate", str(path), "--child", str(child.parent)).returncode == 0
    assert runtara("validate", str(path), str(child)).returncode == 0
    # A child's required input that the step does not map: E055.
    strict = json.loads(json.dumps(HELLO))
    strict["inputSchema"]["name"] = {"type": "string", "required": True}
    write(child, strict)
    missing = runtara("validate", str(path), "--child", str(child.parent))
    assert missing.returncode == 1
    assert "E055 Step 'embed': child workflow 'greeter' requires input 'name'" in missing.stdout


def test_schema_command_prints_and_writes_the_committed_schema(tmp_path: Path) -> None:
    printed = runtara("schema")
    assert printed.returncode == 0
    assert printed.stdout == SCHEMA_PATH.read_text(encoding="utf-8")
    target = tmp_path / "out" / "workflow.schema.json"
    written = runtara("schema", "-o", str(target))
    assert written.returncode == 0
    assert target.read_text(encoding="utf-8") == printed.stdout


@pytest.mark.parametrize("document", ["[]", "null", '"text"', "{}", '{"executionGraph": 5}'])
def test_documents_of_the_wrong_shape_are_structural_errors(tmp_path: Path, document: str) -> None:
    path = tmp_path / "shape.json"
    path.write_text(document, encoding="utf-8")
    result = runtara("validate", str(path), "--format", "json")
    assert result.returncode == 1
    diagnostics = json.loads(result.stdout)["files"][0]["diagnostics"]
    assert diagnostics and {d["code"] for d in diagnostics} == {"S001"}


def test_arguments_that_select_no_file_are_each_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    good = write(tmp_path / "good.json", HELLO)
    result = runtara(
        "validate", str(good), str(tmp_path / "empty"), "zzz*.json", "", "-f", "json", cwd=tmp_path
    )
    assert result.returncode == 2
    report = {f["file"]: f for f in json.loads(result.stdout)["files"]}
    assert report[str(good)]["valid"] is True
    for name, reason in [
        (str(tmp_path / "empty"), "directory holds no *.json file"),
        ("zzz*.json", "pattern matches no file"),
        ("''", "empty path"),
    ]:
        assert not report[name]["valid"]
        assert [(d["code"], d["message"]) for d in report[name]["diagnostics"]] == [
            ("S000", reason)
        ]


def test_a_missing_child_is_a_usage_error(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", HELLO)
    result = runtara("validate", str(good), "--child", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--child" in result.stderr
    assert "nowhere" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ('{"steps": {},\n  "entryPoint": NaN}', "2:17", "NaN is not valid JSON"),
        ('{"a": [1,\n -Infinity]}', "2:2", "-Infinity is not valid JSON"),
        ("[" * 5000 + "]" * 5000, "1:1", "nested too deeply"),
        ('{"ok": "\\ud83d\\ude00",\n "bad": "x \\udc00"}', "2:9", "half a surrogate pair"),
    ],
)
def test_json_that_python_reads_but_json_forbids_exits_2_with_position(
    tmp_path: Path, text: str, position: str, message: str
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(text, encoding="utf-8")
    result = runtara("validate", str(path))
    assert result.returncode == 2
    assert result.stdout.startswith(f"{path}:{position}: S000 ")
    assert message in result.stdout


@pytest.mark.parametrize(
    ("value", "max_rss_mib"),
    [
        # The source map once kept backtracking state per character of a string
        # (GBs for 200 MB) ...
        ('"' + "a" * 20_000_000 + '"', 600),
        # ... and a pointer string per array item (~150 bytes for each number).
        ("[" + ",".join(["1"] * 3_000_000) + "]", 300),
    ],
    ids=["long-string", "long-array"],
)
def test_large_values_are_located_in_little_memory(
    tmp_path: Path, value: str, max_rss_mib: int
) -> None:
    path = tmp_path / "large.json"
    path.write_text(
        '{"steps": {}, "entryPoint": "x", "variables": {"v": {"type": "'
        + ("string" if value.startswith('"') else "array")
        + '", "value": '
        + value
        + "}}}",
        encoding="utf-8",
    )
    # VmHWM: the peak of this process alone (ru_maxrss may report the forking parent's).
    code = (
        "import re, sys; from runtara.dsl import validate; "
        "r = validate(sys.argv[1]); "
        "status = open('/proc/self/status').read(); "
        "print(r.diagnostics[0].code, re.search(r'VmHWM:\\s+(\\d+)', status).group(1))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    code_found, max_rss_kib = result.stdout.split()
    assert code_found == "E004"
    assert int(max_rss_kib) < max_rss_mib * 1024


def test_schema_output_must_be_a_file(tmp_path: Path) -> None:
    result = runtara("schema", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "give a file name" in result.stderr and "Traceback" not in result.stderr
    blocker = tmp_path / "plain"
    blocker.write_text("", encoding="utf-8")
    under_file = runtara("schema", "-o", str(blocker / "schema.json"))
    assert under_file.returncode == 1
    assert f"{blocker} is not a directory" in under_file.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["validate", "--format", "xml", "x.json"], "'xml' is not one of 'text', 'json'"),
        (["validate", "--bogus", "x.json"], "No such option: --bogus"),
        (["validate"], "Missing argument 'PATH'"),
        (["schema", "extra"], "unexpected extra argument"),
        (["agents", "list", "--format", "yaml"], "'yaml' is not one of"),
    ],
)
def test_command_line_mistakes_are_one_line_with_exit_2(args: list[str], says: str) -> None:
    result = runtara(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert says in result.stderr and f"(see 'runtara {args[0]}" in result.stderr


def test_special_and_oversized_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    oversized = tmp_path / "big.json"
    with oversized.open("wb") as file:
        file.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    result = runtara("validate", str(fifo), "/dev/zero", str(oversized))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{fifo}:1:1: S000 cannot read file: not a regular file",
        "/dev/zero:1:1: S000 cannot read file: not a regular file",
        f"{oversized}:1:1: S000 file is larger than 64 MiB: not a workflow document",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "examples/hello.json"],
        ["schema"],
        ["agents", "list", "--format", "json"],
        ["agents", "show", "http:http-request"],
    ],
)
def test_document_commands_load_no_server_or_compiler_libraries(args: list[str]) -> None:
    heavy = {"jsonschema", "fastapi", "starlette", "sqlalchemy", "httpx", "docker", "jinja2"}
    code = (
        "import json, sys\n"
        "from runtara.cli import main\n"
        f"sys.argv = ['runtara', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy!r})), "
        "file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert json.loads(result.stderr.splitlines()[-1]) == []


def test_each_text_diagnostic_stays_on_one_line(tmp_path: Path) -> None:
    document = json.loads(json.dumps(HELLO))
    document["steps"]["format_name"]["agentId"] = "te\nxt\x1b[31m"
    path = write(tmp_path / "control.json", document)
    result = runtara("validate", str(path))
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert "unknown agent 'te\\nxt\\x1b[31m'" in line
    as_json = json.loads(runtara("validate", str(path), "-f", "json").stdout)
    assert "'te\nxt\x1b[31m'" in as_json["files"][0]["diagnostics"][0]["message"]


def test_a_failed_schema_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "workflow.schema.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    (tmp_path / ".workflow.schema.json.partial").mkdir()  # the write itself fails
    result = runtara("schema", "-o", str(target))
    assert result.returncode == 1 and result.stderr.startswith(f"error: cannot write {target}")
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'

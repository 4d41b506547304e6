"""The catalog: every agent of the DSL contract, typed inputs, and installed (entry point) agents."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtara.agents.catalog import catalog
from runtara.agents.framework import MISSING

#: The contract: /work/shared/DSL.md, "Agents and connections" (plus sftp move/mkdir).
DSL_CAPABILITIES = {
    "http": ["http-request"],
    "sftp": [
        "sftp-list-files",
        "sftp-download-file",
        "sftp-upload-file",
        "sftp-delete-file",
        "sftp-move-file",
        "sftp-create-directory",
    ],
    "csv": ["from-csv", "to-csv", "get-header"],
    "xml": ["from-xml", "to-xml"],
    "transform": [
        "extract", "get-value-by-path", "set-value-by-path", "filter-non-values", "select-first",
        "from-json-string", "to-json-string", "filter", "sort", "map-fields", "group-by",
        "append", "flat-map", "array-length",
    ],
    "text": [
        "render-template", "trim-normalize", "case-conversion", "find-replace",
        "extract-first-line", "extract-first-word", "split-join", "split", "remove-characters",
        "substring-extraction", "collapse-expand-lines", "slugify", "hash-text", "as-byte-array",
        "from-base64", "to-base64",
    ],
    "utils": [
        "random-double", "random-array", "return-input-string", "return-input", "do-nothing",
        "delay-in-ms", "calculate", "format-date-from-iso", "iso-to-unix-timestamp",
        "get-current-unix-timestamp", "get-current-iso-datetime",
        "get-current-formatted-datetime", "country-name-to-iso-code",
    ],
    # The AiAgent step's (issue 19): its model client, MCP toolsets and memory provider.
    "openai": ["chat-completion"],
    "mcp": ["mcp-tool-search", "mcp-tool-invoke"],
    "object_model": ["load-memory", "save-memory"],
}  # fmt: skip


def test_every_dsl_capability_is_in_the_catalog() -> None:
    agents = catalog().agents
    assert {a: list(spec.capabilities) for a, spec in agents.items()} == DSL_CAPABILITIES


def test_only_secure_agents_take_connections() -> None:
    known = catalog()
    assert known.secure_agents() == ("http", "mcp", "object_model", "openai", "sftp")
    for spec in known.agents.values():
        for cap in spec.capabilities.values():
            assert cap.takes_connection == spec.secure, cap.qualified_id
            assert "_connection" not in cap.input_names


def test_inputs_are_typed_from_signatures() -> None:
    http = catalog().capability("http", "http-request")
    assert http is not None
    method, url, timeout = http.input("method"), http.input("url"), http.input("timeout_ms")
    assert method is not None and url is not None and timeout is not None
    assert method.enum == ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
    assert (method.required, method.default) == (False, "GET")
    assert (url.type, url.required, url.default) == ("string", True, MISSING)
    assert (timeout.type, timeout.default) == ("integer", 30_000)
    from_csv = catalog().capability("csv", "from-csv")
    data = from_csv.input("data") if from_csv else None
    assert data is not None and data.type == "file"


def test_every_input_and_output_is_described() -> None:
    for spec in catalog().agents.values():
        for cap in spec.capabilities.values():
            assert cap.description, cap.qualified_id
            assert cap.output_description, cap.qualified_id
            for field in cap.inputs:
                assert field.description, f"{cap.qualified_id}.{field.name}"


def test_side_effect_flags() -> None:
    known = catalog()
    flagged = {
        cap.qualified_id
        for spec in known.agents.values()
        for cap in spec.capabilities.values()
        if cap.side_effects
    }
    assert flagged == {
        "http:http-request",
        "openai:chat-completion",
        "mcp:mcp-tool-invoke",
        "object_model:save-memory",
        "sftp:sftp-upload-file",
        "sftp:sftp-delete-file",
        "sftp:sftp-move-file",
        "sftp:sftp-create-directory",
    }


def test_connection_types_and_secret_parameters() -> None:
    types = catalog().connection_types
    assert {t: spec.secret_parameters for t, spec in types.items()} == {
        "http_api_key": ("api_key",),
        "http_basic": ("password",),
        "http_bearer": ("token",),
        "sftp": ("password", "private_key", "passphrase"),
        "oci_registry": ("password",),
        "openai": ("api_key",),
        "mcp": ("env",),
        "object_model": (),
    }
    header = next(p for p in types["http_api_key"].parameters if p.name == "header_name")
    port = next(p for p in types["sftp"].parameters if p.name == "port")
    assert header.default == "X-API-Key" and port.default == 22


def test_loading_the_catalog_does_not_import_paramiko() -> None:
    code = "import sys; from runtara.agents.catalog import catalog; catalog(); print('paramiko' in sys.modules, 'mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Path:
    """A distribution on sys.path that declares agents through the entry point group."""
    package = tmp_path / "acme_agents"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from typing import Annotated
            from runtara.agents.framework import Doc, agent

            acme = agent("acme", name="Acme", description="Greetings from a plugin.")

            @acme.capability(output="A greeting.")
            def greet(name: Annotated[str, Doc("Who to greet.")]) -> str:
                """Say hello."""
                return f"hello {name}"
            '''
        )
    )
    info = tmp_path / "acme_agents-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-agents\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[runtara.agents]\nacme = acme_agents\n")
    return tmp_path


def _run(code: str, path: Path) -> str:
    env = {"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_installed_agents_join_the_catalog_and_can_be_invoked(installed_plugin: Path) -> None:
    code = (
        "import json; from runtara.agents.catalog import catalog; "
        "from runtara.agents.invoke import invoke; "
        "print(json.dumps([sorted(catalog().agents), invoke('acme', 'greet', {'name': 'Ada'})]))"
    )
    agents, greeting = json.loads(_run(code, installed_plugin))
    assert "acme" in agents and "http" in agents
    assert greeting == "hello Ada"


def test_installed_agents_appear_in_the_cli(installed_plugin: Path) -> None:
    code = "from runtara.cli import main; import sys; sys.argv=['runtara','agents','list','--format','json']; main()"
    listing = json.loads(_run(code, installed_plugin))
    acme = next(a for a in listing if a["id"] == "acme")
    assert acme["capabilities"][0]["id"] == "greet"
    assert acme["capabilities"][0]["inputs"] == [
        {"name": "name", "type": "string", "required": True, "description": "Who to greet."}
    ]


def _runtara(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args], capture_output=True, text=True, env=env, cwd=path
    )


def test_installed_agents_reach_the_schema_and_the_validator(installed_plugin: Path) -> None:
    def workflow(capability: str) -> str:
        return json.dumps(
            {
                "entryPoint": "hi",
                "steps": {
                    "hi": {
                        "id": "hi",
                        "stepType": "Agent",
                        "agentId": "acme",
                        "capabilityId": capability,
                        "inputMapping": {"name": {"valueType": "immediate", "value": "Ada"}},
                    },
                    "end": {"id": "end", "stepType": "Finish"},
                },
                "executionPlan": [{"fromStep": "hi", "toStep": "end"}],
            }
        )

    (installed_plugin / "good.json").write_text(workflow("greet"))
    (installed_plugin / "typo.json").write_text(workflow("gret"))

    schema = _runtara(installed_plugin, "schema")
    good = _runtara(installed_plugin, "validate", "good.json")
    typo = _runtara(installed_plugin, "validate", "typo.json")

    assert schema.returncode == 0 and '"acme"' in schema.stdout
    assert good.returncode == 0, good.stdout + good.stderr
    assert typo.returncode == 1
    assert "E021" in typo.stdout and "greet" in typo.stdout


def test_a_broken_plugin_is_a_clear_error(tmp_path: Path) -> None:
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[runtara.agents]\nbroken = no_such_module\n")
    code = "from runtara.cli import main; import sys; sys.argv=['runtara','agents','list']; main()"
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "cannot load agents 'broken' from broken" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_plugin_stops_validate_and_schema_with_one_line(tmp_path: Path) -> None:
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[runtara.agents]\nbroken = no_such_module\n")
    (tmp_path / "flow.json").write_text('{"steps": {}, "entryPoint": "x"}')
    validate = _runtara(tmp_path, "validate", "flow.json")
    schema = _runtara(tmp_path, "schema")
    for result, code in ((validate, 2), (schema, 1)):
        assert result.returncode == code
        assert result.stderr.startswith("error: cannot load agents 'broken' from broken")
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_default_that_is_not_json_is_refused_when_declared() -> None:
    # In a process of its own: declarations register globally.
    code = (
        "import datetime\n"
        "from runtara.agents.framework import agent\n"
        "acme = agent('acme_dates', name='Acme')\n"
        "try:\n"
        "    @acme.capability()\n"
        "    def since(day: str = datetime.date(2020, 1, 1)) -> str:\n"
        "        return str(day)\n"
        "except TypeError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "since: the default of input 'day' is a date, not a JSON value" in result.stdout

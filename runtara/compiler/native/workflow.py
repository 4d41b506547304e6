"""``runtara compile``: a workflow file -> validated -> generated module -> native binary -> image.

A Python program written against ``runtara.sdk`` (a ``.py`` file, the program
``images register --command`` would run) skips validation and generation: the
program itself is the module, compiled and packed the same way.

The output directory holds what each later step needs::

    DIR/<name>.py       the generated module, or a copy of the program (what the binary runs)
    DIR/bin/            the native binary (``runtara-workflow``) and what it loads
    DIR/image.tar       the OCI image (``docker load`` and ``runtara push`` accept it)
    DIR/build.json      what was built: names, tag, digests, paths (``read_build``)
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runtara import __version__
from runtara.compiler.native.build import build_native
from runtara.compiler.native.cache import cache_dir
from runtara.compiler.oci.layout import WrittenImage
from runtara.compiler.oci.workflow_image import WorkflowMetadata, build_image, input_schema_digest
from runtara.compiler.progress import Phase, Progress
from runtara.dsl import Workflow
from runtara.errors import Error

BUILD_FILE = "build.json"
#: A program's memory tier: what a workflow that names none gets.
DEFAULT_MEMORY_TIER: str = Workflow.model_fields["memory_tier"].default
_TAG = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*):(?P<version>[A-Za-z0-9_][A-Za-z0-9_.-]*)$"
)


class CompileError(Error):
    """The workflow cannot be compiled; ``lines`` are the problems, one per line."""

    def __init__(
        self, message: str, lines: Sequence[str] = (), *, unreadable: bool = False
    ) -> None:
        super().__init__(message)
        self.lines = list(lines)
        #: The file is missing or not JSON, or an argument is malformed: the CLI exits 2.
        self.unreadable = unreadable


@dataclass(frozen=True)
class CompiledWorkflow:
    """The contents of ``build.json``; paths are relative to the output directory."""

    workflow: str
    version: str
    tag: str
    source: str
    binary: str
    image: str
    image_digest: str
    image_config_digest: str
    image_size: int
    memory_tier: str
    runtara_version: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_build(directory: Path) -> CompiledWorkflow:
    """The build record of a ``runtara compile`` output directory (for ``runtara run DIR``)."""
    path = directory / BUILD_FILE
    try:
        return CompiledWorkflow(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise CompileError(
            f"{directory}: not a `runtara compile` output (no {BUILD_FILE})"
        ) from None
    except (ValueError, TypeError) as exc:
        raise CompileError(f"{path}: unreadable build record ({exc})") from None


def parse_tag(tag: str) -> tuple[str, str]:
    match = _TAG.match(tag)
    if not match:
        raise CompileError(
            f"--tag {tag!r}: expected NAME:VERSION (lowercase name, e.g. orders:1.0.0)",
            unreadable=True,
        )
    return match["name"], match["version"]


def image_name(workflow_name: str) -> str:
    """A workflow name as an image repository name: lowercase, ``[a-z0-9._-]``."""
    name = re.sub(r"[^a-z0-9._-]+", "-", workflow_name.lower()).strip("._-")
    return re.sub(r"[._-]{2,}", "-", name) or "workflow"


def compile_workflow(
    file: Path,
    output: Path,
    *,
    tag: str | None = None,
    children: Sequence[Path] = (),
    jobs: int | None = None,
    cache: Path | None = None,
    progress: Progress | None = None,
) -> CompiledWorkflow:
    """Validate, generate, build natively and pack ``file``; write everything to ``output``.

    ``build.json`` is written last and removed first: a directory holds one only when
    its last compile finished, so ``runtara push`` and ``runtara run DIR`` never take
    an earlier build for this one. A compile that fails leaves no directory behind that
    it created itself.
    """
    (output / BUILD_FILE).unlink(missing_ok=True)
    created = not output.exists()
    try:
        return _compile(
            file, output, tag=tag, children=children, jobs=jobs, cache=cache, progress=progress
        )
    except BaseException:
        if created:
            shutil.rmtree(output, ignore_errors=True)
        raise


def _compile(
    file: Path,
    output: Path,
    *,
    tag: str | None,
    children: Sequence[Path],
    jobs: int | None,
    cache: Path | None,
    progress: Progress | None,
) -> CompiledWorkflow:
    cache = cache or cache_dir()
    say = progress or (lambda _line: None)
    tagged = parse_tag(tag) if tag else None
    if is_program(file):
        say(Phase(f"reading the program {file}"))
        source, module = _program(file, children), _Module.of_program(file)
    else:
        say(Phase(f"validating {file}"))
        workflow = _validated(file, children)
        graph = workflow.graph
        say(Phase("generating the workflow module"))
        source = _generate(workflow, file, children)
        schema = {
            field: value.model_dump(by_alias=True, exclude_unset=True)
            for field, value in (graph.input_schema or {}).items()
        }
        module = _Module(graph.name or file.stem, schema, workflow.memory_tier, None)
    name, version = tagged or (image_name(module.name), "latest")

    output.mkdir(parents=True, exist_ok=True)
    source_name = f"{image_name(module.name).replace('-', '_').replace('.', '_')}.py"
    (output / source_name).write_text(source, encoding="utf-8")
    native = build_native(
        source,
        output / "bin",
        filename=module.filename or str(output / source_name),
        cache=cache,
        jobs=jobs,
        progress=progress,
    )
    say(Phase("writing the OCI image"))
    metadata = WorkflowMetadata(
        name=module.name,
        version=version,
        input_schema_digest=input_schema_digest(module.input_schema),
        memory_tier=module.memory_tier,
    )
    image: WrittenImage = build_image(
        output / "image.tar",
        runtime_dir=native.launcher.dist,
        entrypoint=native.binary.name,
        workflow_files=[native.workflow_module],
        metadata=metadata,
        layer_cache=cache / "layers",
        ref_name=f"{name}:{version}",
        progress=progress,
        optional=native.launcher.optional_entries,
        carried=native.carried,
    )
    compiled = CompiledWorkflow(
        workflow=metadata.name,
        version=version,
        tag=f"{name}:{version}",
        source=source_name,
        binary=str(native.binary.relative_to(output)),
        image="image.tar",
        image_digest=image.manifest_digest,
        image_config_digest=image.config_digest,
        image_size=image.size,
        memory_tier=metadata.memory_tier,
        runtara_version=__version__,
    )
    (output / BUILD_FILE).write_text(json.dumps(compiled.to_json(), indent=2) + "\n")
    return compiled


def is_program(file: Path) -> bool:
    """A Python program (``job.py``) rather than a workflow document."""
    return file.suffix == ".py"


@dataclass(frozen=True)
class _Module:
    """What the image says about the compiled module: a workflow's name, input schema
    and memory tier; a program has its file's name, no schema and the default tier."""

    name: str
    input_schema: dict[str, Any]
    memory_tier: str
    #: The file import errors name (the program itself; else the generated module).
    filename: str | None

    @classmethod
    def of_program(cls, file: Path) -> _Module:
        return cls(file.stem, {}, DEFAULT_MEMORY_TIER, str(file))


def _program(file: Path, children: Sequence[Path]) -> str:
    """The source of the program ``file``, checked to be Python."""
    if children:
        raise CompileError(
            f"{file}: --child applies to JSON workflows; a program embeds nothing",
            unreadable=True,
        )
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompileError(f"{file}: no such file", unreadable=True) from None
    except IsADirectoryError:
        raise CompileError(f"{file}: is a directory, not a program", unreadable=True) from None
    except UnicodeDecodeError as exc:
        raise CompileError(f"{file}: not UTF-8 text ({exc.reason})", unreadable=True) from None
    except OSError as exc:
        raise CompileError(f"{file}: cannot read ({exc.strerror})", unreadable=True) from None
    try:
        ast.parse(source, str(file))
    except SyntaxError as exc:
        where = f"{file}:{exc.lineno}" + (f":{exc.offset}" if exc.offset else "")
        raise CompileError(
            f"{file}: not valid Python; nothing compiled", [f"{where}: {exc.msg}"]
        ) from None
    return source


def _validated(file: Path, children: Sequence[Path]) -> Any:
    try:
        from runtara.dsl.validation import find_child_workflows, validate
    except ImportError as exc:  # the validator is another part of runtara
        raise CompileError(f"workflow validation is not available in this build ({exc})") from None
    found = find_child_workflows(children)
    result = validate(file, children=set(found), child_files=found)
    if not result.ok or result.workflow is None:
        lines = [d.format(str(file)) for d in result.errors] or [f"{file}: invalid workflow"]
        raise CompileError(
            f"{file}: {len(lines)} error(s); nothing compiled",
            lines,
            unreadable=not result.readable,
        )
    return result.workflow


def _generate(workflow: Any, file: Path, children: Sequence[Path]) -> str:
    try:
        from runtara.compiler.codegen import CodegenError, generate, load_children
    except ImportError as exc:
        raise CompileError(f"code generation is not available in this build ({exc})") from None
    try:
        source: str = generate(workflow, children=load_children(children), source=str(file))
    except CodegenError as exc:
        raise CompileError(str(exc)) from None
    return source

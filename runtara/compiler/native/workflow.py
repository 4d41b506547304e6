"""``runtara compile``: a workflow file -> validated -> generated module -> native binary -> image.

The output directory holds what each later step needs::

    DIR/<name>.py       the generated module (readable; what the binary runs)
    DIR/bin/            the native binary (``runtara-workflow``) and what it loads
    DIR/image.tar       the OCI image (``docker load`` and ``runtara push`` accept it)
    DIR/build.json      what was built: names, tag, digests, paths (``read_build``)
"""

from __future__ import annotations

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
from runtara.errors import Error

BUILD_FILE = "build.json"
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
    say(Phase(f"validating {file}"))
    workflow = _validated(file, children)
    graph = workflow.graph
    say(Phase("generating the workflow module"))
    source = _generate(workflow, file, children)
    name, version = tagged or (image_name(graph.name or file.stem), "latest")

    output.mkdir(parents=True, exist_ok=True)
    source_name = f"{image_name(graph.name or file.stem).replace('-', '_').replace('.', '_')}.py"
    (output / source_name).write_text(source, encoding="utf-8")
    native = build_native(
        source,
        output / "bin",
        filename=str(output / source_name),
        cache=cache,
        jobs=jobs,
        progress=progress,
    )
    say(Phase("writing the OCI image"))
    schema = {
        field: value.model_dump(by_alias=True, exclude_unset=True)
        for field, value in (graph.input_schema or {}).items()
    }
    metadata = WorkflowMetadata(
        name=graph.name or file.stem,
        version=version,
        input_schema_digest=input_schema_digest(schema),
        memory_tier=workflow.memory_tier,
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

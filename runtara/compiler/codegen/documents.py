"""Reading workflow documents for codegen: ``runtara.dsl.load``, errors as ``CodegenError``."""

from __future__ import annotations

from pathlib import Path

from runtara import dsl
from runtara.compiler.codegen.errors import CodegenError


def read_workflow(path: Path) -> dsl.Workflow:
    try:
        return dsl.load(path).workflow
    except dsl.DocumentError as exc:
        raise CodegenError(f"{exc} (run `runtara validate {path}` for every problem)") from None

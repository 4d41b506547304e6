"""Workflow model -> one readable, formatted Python module (no DSL interpreter at run time).

``generate(workflow)`` returns the source; ``runtara codegen FILE`` prints it. The module
imports only ``runtara.sdk``, the agents the workflow uses and the standard library.
"""

from __future__ import annotations

from runtara.compiler.codegen.documents import load_children, read_workflow
from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.render import generate

__all__ = ["CodegenError", "generate", "load_children", "read_workflow"]

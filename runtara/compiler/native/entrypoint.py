"""The program every native workflow binary runs (compiled once, into the launcher).

It imports the workflow module that sits beside the binary (compiled separately, per
workflow, under the fixed name ``runtara_workflow``) and runs it: the module's
``main()`` if it has one, else the generated ``graph_main`` through ``flow.main``;
a plain script without either has already run when it was imported.
Image-side: standard library and ``runtara.sdk`` only.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

#: The name the per-workflow extension module must be compiled under.
WORKFLOW_MODULE = "runtara_workflow"


def run(module: Any) -> Any:
    entry = getattr(module, "main", None)
    if callable(entry):
        return entry()
    graph = getattr(module, "graph_main", None)
    if graph is None:
        return 0  # a plain script: importing it was running it
    from runtara.sdk import flow

    return flow.main(
        graph,
        variables=module.VARIABLES,
        input_schema=module.INPUT_SCHEMA,
        debug=module.DEBUG,
    )


def main() -> None:
    # excluded from the launcher build (--nofollow-import-to), found beside the binary
    module = importlib.import_module(WORKFLOW_MODULE)
    result = run(module)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()

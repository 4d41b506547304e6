"""The program every native workflow binary runs (compiled once, into the launcher).

It imports the workflow module that sits beside the binary (compiled separately, per
workflow, under the fixed name ``runtara_workflow``) and runs it as ``python module.py``
would: the module's ``if __name__ == "__main__":`` block, which the per-workflow build
turns into the function ``MAIN_GUARD`` (an imported module is never ``__main__``);
else its ``main()``; else nothing more, as importing a plain script already ran it.
Image-side: standard library only.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

#: The name the per-workflow extension module must be compiled under.
WORKFLOW_MODULE = "runtara_workflow"
#: The function the module's ``__main__`` block becomes (see ``native.main_guard``).
MAIN_GUARD = "__runtara_main__"


def run(module: Any) -> Any:
    for name in (MAIN_GUARD, "main"):
        entry = getattr(module, name, None)
        if callable(entry):
            return entry()
    return 0


def main() -> None:
    # excluded from the launcher build (--nofollow-import-to), found beside the binary
    module = importlib.import_module(WORKFLOW_MODULE)
    result = run(module)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()

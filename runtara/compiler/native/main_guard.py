"""Keep a module's ``if __name__ == "__main__":`` block runnable once it is compiled.

A compiled workflow is imported by the launcher, so ``__name__`` is never ``"__main__"``
and the block that starts the workflow would never run. Before compiling, the block's
``if`` line becomes ``def __runtara_main__():`` (its body, already indented, becomes
the function's), and the launcher calls that function: the binary behaves exactly
like ``python module.py``, whatever the block does.
"""

from __future__ import annotations

import ast

from runtara.compiler.native.entrypoint import MAIN_GUARD


def expose_main_guard(source: str, filename: str = "<workflow>") -> str:
    """``source`` with its top-level ``__main__`` block turned into ``MAIN_GUARD()``."""
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.If) and not node.orelse and _is_main_test(node.test):
            body = node.body[0]
            body_line = lines[body.lineno - 1].encode()
            before_body = body_line[: body.col_offset].decode()
            if before_body.strip():  # `if __name__ == "__main__": run()`: body after the colon
                header = range(node.lineno - 1, body.lineno - 1)
                lines[body.lineno - 1] = (
                    f"def {MAIN_GUARD}(): {body_line[body.col_offset :].decode()}"
                )
            else:
                header = range(node.lineno, body.lineno - 1)
                lines[node.lineno - 1] = f"def {MAIN_GUARD}():\n"
            for index in header:  # the rest of a condition written over several lines
                lines[index] = "\n"
            return "".join(lines)
    return source


def _is_main_test(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )

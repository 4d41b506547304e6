"""The one error codegen raises: what cannot be turned into code, and where."""

from __future__ import annotations

from runtara.errors import Error


class CodegenError(Error):
    """A workflow that validation let through but that cannot be compiled as written.

    ``where`` names the step (or graph) so the message points at the document.
    """

    def __init__(self, message: str, *, where: str | None = None, code: str | None = None) -> None:
        text = f"{where}: {message}" if where else message
        super().__init__(f"{code} {text}" if code else text)
        self.message = message
        self.where = where
        self.code = code

"""``runtara graph``: a workflow's graph as SVG, Mermaid or DOT, for docs and reviews.

It is the drawing the console shows for an image or an instance (the same
``runtara.console`` graph and layout), without the colours of a run.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from runtara.cli._common import fail, stderr


class GraphFormat(StrEnum):
    svg = "svg"
    mermaid = "mermaid"
    dot = "dot"


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)


def graph(
    file: Annotated[Path, typer.Argument(help="Workflow JSON file.", show_default=False)],
    output_format: Annotated[
        GraphFormat,
        typer.Option(
            "--format", "-f", help="svg (laid out), mermaid (Markdown) or dot (Graphviz)."
        ),
    ] = GraphFormat.svg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Draw a workflow: one node per step (subgraphs nested), edges from its plan.

    Exit status: 0 drawn, 1 the document is not a workflow (diagnostics listed as
    file:line:col: CODE message), 2 the file cannot be read or is not JSON.
    """
    from runtara import dsl
    from runtara.console.formats import to_dot, to_mermaid, to_svg
    from runtara.console.graph import of_workflow

    try:
        workflow = dsl.load(file).workflow
    except dsl.DocumentError as exc:
        for diagnostic in exc.diagnostics:
            stderr.print(diagnostic.format(str(file)), markup=False)
        fail(f"{file}: cannot draw it", 1 if exc.readable else 2)
    drawing = of_workflow(workflow)
    if output_format is GraphFormat.svg:
        drawn = to_svg(drawing, title=workflow.graph.name or file.stem) + "\n"
    else:
        drawn = (to_mermaid if output_format is GraphFormat.mermaid else to_dot)(drawing)
    if output is None:
        typer.echo(drawn, nl=False)
        return
    try:
        output.write_text(drawn, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 1)
    stderr.print(f"wrote {output}")

"""A ``Graph`` as SVG (laid out here), Mermaid or Graphviz DOT.

Every piece of text in the output comes from a workflow document or an instance, so
each format escapes it for its own syntax: XML entities in SVG, Mermaid's ``#quot;``
entity codes inside quoted labels, C-style escapes inside DOT's quoted strings. Node
ids in Mermaid and DOT are generated (``n0``, ``n1``) and never user text.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from runtara.console.graph import Graph, Node, Path
from runtara.console.layout import PAD, Box, Layout, layout

#: Node state -> what the legend calls it.
STATES = {
    "done": "done",
    "running": "running",
    "waiting": "waiting",
    "failed": "failed",
    "pending": "not reached",
}
EDGE_LABELS = {"true": "true", "false": "false", "onError": "on error"}
MARGIN = 16

SVG_STYLE = """
.rt-graph{font-family:ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.rt-graph .node rect{fill:#fff;stroke:#94a3b8;stroke-width:1.5}
.rt-graph .node .id{font:600 12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:#0f172a}
.rt-graph .node .sub{font-size:11px;fill:#475569}
.rt-graph .node .count{font-size:11px;font-weight:600;fill:#1d4ed8}
.rt-graph .group>rect{fill:#f8fafc;stroke-dasharray:5 4}
.rt-graph .s-done>rect{fill:#ecfdf5;stroke:#059669}
.rt-graph .s-running>rect{fill:#eff6ff;stroke:#2563eb;stroke-width:2.5}
.rt-graph .s-waiting>rect{fill:#fffbeb;stroke:#d97706;stroke-width:2}
.rt-graph .s-failed>rect{fill:#fef2f2;stroke:#dc2626;stroke-width:2.5}
.rt-graph .s-pending>rect{fill:#f8fafc;stroke:#cbd5e1}
.rt-graph .s-pending .id,.rt-graph .s-pending .sub{fill:#94a3b8}
.rt-graph .edge{fill:none;stroke:#64748b;stroke-width:1.4}
.rt-graph .edge.k-onError{stroke:#dc2626;stroke-dasharray:4 3}
.rt-graph .edge.k-false{stroke:#9333ea}
.rt-graph .edge.back{stroke-dasharray:2 3}
.rt-graph .elabel{font-size:10px;fill:#334155;paint-order:stroke;stroke:#fff;stroke-width:3px}
.rt-graph .arrow{fill:#64748b}
"""


def to_svg(
    graph: Graph,
    states: Mapping[Path, str] | None = None,
    counts: Mapping[Path, int] | None = None,
    *,
    title: str | None = None,
) -> str:
    """An SVG document; with ``states``, each node coloured by its state."""
    placed = layout(graph, MARGIN, MARGIN)
    width = placed.width + 2 * MARGIN
    height = placed.height + 2 * MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rt-graph" role="img"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">',
        f"<title>{escape(title or 'workflow graph')}</title>",
        f"<style>{SVG_STYLE}</style>",
        '<defs><marker id="rt-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path class="arrow" d="M0,0L10,5L0,10z"/>'
        "</marker></defs>",
    ]
    _draw(placed, parts, states, counts or {})
    parts.append("</svg>")
    return "\n".join(parts)


def _draw(
    placed: Layout,
    parts: list[str],
    states: Mapping[Path, str] | None,
    counts: Mapping[Path, int],
) -> None:
    for route in placed.routes:
        kind = escape(route.edge.kind)
        back = " back" if route.back else ""
        parts.append(
            f'<path class="edge k-{kind}{back}" d="{route.d}" marker-end="url(#rt-arrow)"/>'
        )
        label = EDGE_LABELS.get(route.edge.kind)
        if label:
            parts.append(
                f'<text class="elabel" x="{route.label_x:.1f}" y="{route.label_y:.1f}"'
                f' text-anchor="middle">{label}</text>'
            )
    for box in placed.boxes:
        _box(box, parts, states, counts)


def _box(
    box: Box,
    parts: list[str],
    states: Mapping[Path, str] | None,
    counts: Mapping[Path, int],
) -> None:
    node = box.node
    state = (states or {}).get(node.path, "pending") if states is not None else None
    classes = ["node"]
    if box.inner is not None:
        classes.append("group")
    if state:
        classes.append(f"s-{state}")
    count = counts.get(node.path)
    tip = [node.id, node.type] + ([node.name] if node.name else [])
    if state:
        tip.append(STATES.get(state, state))
    if count is not None:
        tip.append(_items(node, count))
    parts.append(
        f'<g class="{" ".join(classes)}" data-step="{escape(node.id)}"'
        f' data-path="{escape("/".join(node.path))}"'
        f"{f' data-state={chr(34)}{state}{chr(34)}' if state else ''}>"
        f"<title>{escape(' · '.join(tip))}</title>"
    )
    parts.append(
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}"'
        f' height="{box.height:.1f}" rx="8"/>'
    )
    top = box.y + (18 if box.inner is None else 17)
    parts.append(
        f'<text class="id" x="{box.x + PAD:.1f}" y="{top:.1f}">{escape(node.id)}</text>'
        f'<text class="sub" x="{box.x + PAD:.1f}" y="{top + 16:.1f}">{escape(node.subtitle)}</text>'
    )
    if count is not None:
        parts.append(
            f'<text class="count" x="{box.x + box.width - PAD:.1f}" y="{top:.1f}"'
            f' text-anchor="end">{escape(_items(node, count))}</text>'
        )
    parts.append("</g>")
    if box.inner is not None:
        _draw(box.inner, parts, states, counts)


def _items(node: Node, count: int) -> str:
    noun = "iteration" if node.type == "While" else "item"
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- Mermaid ---------------------------------------------------------------------------


def to_mermaid(graph: Graph) -> str:
    """A Mermaid ``flowchart`` (renders in GitHub and GitLab Markdown)."""
    lines = ["flowchart TD"]
    ids: dict[Path, str] = {}
    _mermaid(graph, lines, ids, "  ")
    return "\n".join(lines) + "\n"


def _mermaid(graph: Graph, lines: list[str], ids: dict[Path, str], indent: str) -> None:
    for node in graph.nodes:
        ids[node.path] = f"n{len(ids)}"
    for node in graph.nodes:
        ident = ids[node.path]
        label = _mermaid_text(node.id) + "<br/><small>" + _mermaid_text(node.subtitle) + "</small>"
        if node.subgraph is None:
            lines.append(f'{indent}{ident}["{label}"]')
            continue
        lines.append(f'{indent}subgraph {ident} ["{label}"]')
        lines.append(f"{indent}  direction TB")
        _mermaid(node.subgraph, lines, ids, indent + "  ")
        lines.append(f"{indent}end")
    prefix = graph.nodes[0].path[:-1] if graph.nodes else ()
    for edge in graph.edges:
        source, target = ids[(*prefix, edge.source)], ids[(*prefix, edge.target)]
        text = EDGE_LABELS.get(edge.kind)
        arrow = "-.->" if edge.kind == "onError" else "-->"
        lines.append(f"{indent}{source} {arrow}{f'|{text}|' if text else ''} {target}")


def _mermaid_text(text: str) -> str:
    """Mermaid labels take HTML entities as ``#name;`` codes; quote everything special."""
    out = []
    for char in text:
        if char.isalnum() or char in " _-.,:/@()+":
            out.append(char)
        else:
            out.append(f"#{ord(char)};")
    return "".join(out)


# -- Graphviz DOT ----------------------------------------------------------------------


def to_dot(graph: Graph) -> str:
    """A Graphviz ``digraph``; subgraphs become clusters."""
    lines = [
        "digraph workflow {",
        '  graph [rankdir=TB, fontname="Helvetica"];',
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    ids: dict[Path, str] = {}
    _dot(graph, lines, ids, "  ")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(graph: Graph, lines: list[str], ids: dict[Path, str], indent: str) -> None:
    for node in graph.nodes:
        ids[node.path] = f"n{len(ids)}"
    for node in graph.nodes:
        ident = ids[node.path]
        label = _dot_text(f"{node.id}\n{node.subtitle}")
        lines.append(f'{indent}{ident} [label="{label}"];')
        if node.subgraph is not None:
            lines.append(f"{indent}subgraph cluster_{ident} {{")
            lines.append(f'{indent}  label="{_dot_text(node.id)} ({node.type})"; style=dashed;')
            _dot(node.subgraph, lines, ids, indent + "  ")
            lines.append(f"{indent}}}")
            if node.subgraph.nodes:
                first = ids[node.subgraph.nodes[0].path]
                lines.append(f"{indent}{ident} -> {first} [style=dotted, arrowhead=none];")
    prefix = graph.nodes[0].path[:-1] if graph.nodes else ()
    for edge in graph.edges:
        source, target = ids[(*prefix, edge.source)], ids[(*prefix, edge.target)]
        attributes = []
        text = EDGE_LABELS.get(edge.kind)
        if text:
            attributes.append(f'label="{text}"')
        if edge.kind == "onError":
            attributes.append("style=dashed, color=red")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"{indent}{source} -> {target}{suffix};")


def _dot_text(text: str) -> str:
    """Inside a DOT quoted string only backslash and the quote are special (and a
    newline, kept as DOT's own line break)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")

"""Where each node of a ``Graph`` goes: a small top-to-bottom layered layout.

Layers are the longest path from the entry over forward edges (loops drawn back up the
right side), nodes keep the graph's breadth-first order within a layer, and a step with
a subgraph becomes a box holding its subgraph's own layout. Deterministic and pure
Python, so the CLI's SVG and the console's are byte-identical for the same document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtara.console.graph import Edge, Graph, Node

NODE_HEIGHT = 46
MIN_WIDTH = 150
H_GAP = 28
V_GAP = 44
PAD = 14
HEADER = 44
#: Rough glyph widths of the two text lines (ids are monospace, 12px; subtitles 11px).
ID_CHAR = 7.3
SUB_CHAR = 6.6


@dataclass
class Box:
    node: Node
    x: float
    y: float
    width: float
    height: float
    inner: Layout | None = None

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2


@dataclass
class Route:
    edge: Edge
    d: str
    """SVG path data."""
    label_x: float
    label_y: float
    back: bool = False


@dataclass
class Layout:
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def all_boxes(self) -> list[Box]:
        found: list[Box] = []
        for box in self.boxes:
            found.append(box)
            if box.inner is not None:
                found.extend(box.inner.all_boxes())
        return found


def layout(graph: Graph, x: float = 0, y: float = 0) -> Layout:
    """Place ``graph`` with its top-left corner at (x, y)."""
    layers = _layers(graph)
    sizes = {node.id: _size(node) for node in graph.nodes}
    rows: list[list[Node]] = [[] for _ in range(max(layers.values(), default=-1) + 1)]
    for node in graph.nodes:
        rows[layers[node.id]].append(node)
    row_widths = [sum(sizes[n.id][0] for n in row) + H_GAP * max(len(row) - 1, 0) for row in rows]
    width = max(row_widths, default=0)
    boxes: dict[str, Box] = {}
    top = y
    for row, row_width in zip(rows, row_widths, strict=True):
        left = x + (width - row_width) / 2
        height = max(sizes[n.id][1] for n in row)
        for node in row:
            w, h = sizes[node.id]
            box = Box(node, left, top + (height - h) / 2, w, h)
            if node.subgraph is not None:
                inner = layout(node.subgraph, 0, 0)
                offset_x = box.x + (w - inner.width) / 2
                box.inner = layout(node.subgraph, offset_x, box.y + HEADER)
            boxes[node.id] = box
            left += w + H_GAP
        top += height + V_GAP
    height = max(top - V_GAP - y, 0)
    result = Layout(width, height, list(boxes.values()))
    for edge in graph.edges:
        if edge.source in boxes and edge.target in boxes:
            result.routes.append(
                _route(edge, boxes[edge.source], boxes[edge.target], layers, x + width)
            )
    # back edges bulge right of the graph: make room for them
    if any(r.back for r in result.routes):
        result.width += 36
    return result


def _size(node: Node) -> tuple[float, float]:
    text = max(len(node.id) * ID_CHAR, len(node.subtitle) * SUB_CHAR) + 2 * PAD
    width = max(MIN_WIDTH, text)
    if node.subgraph is None:
        return width, NODE_HEIGHT
    inner = layout(node.subgraph)
    return max(width, inner.width + 2 * PAD), HEADER + inner.height + PAD


def _layers(graph: Graph) -> dict[str, int]:
    """Longest distance from a root over the edges that do not close a loop."""
    ids = [n.id for n in graph.nodes]
    outgoing: dict[str, list[str]] = {i: [] for i in ids}
    for edge in graph.edges:
        if edge.source in outgoing and edge.target in outgoing:
            outgoing[edge.source].append(edge.target)
    # depth-first from the entry (then every other node) to find the back edges
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    order: list[str] = []
    starts = ([graph.entry] if graph.entry in outgoing else []) + ids
    for start in starts:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            current, index = stack.pop()
            targets = outgoing[current]
            if index < len(targets):
                stack.append((current, index + 1))
                target = targets[index]
                if state.get(target) == 1:
                    back.add((current, target))
                elif target not in state:
                    state[target] = 1
                    stack.append((target, 0))
            else:
                state[current] = 2
                order.append(current)
    depth = dict.fromkeys(ids, 0)
    for source in reversed(order):  # reverse post-order is a topological order
        for target in outgoing[source]:
            if (source, target) not in back:
                depth[target] = max(depth[target], depth[source] + 1)
    return depth


def _route(edge: Edge, a: Box, b: Box, layers: dict[str, int], right: float) -> Route:
    if layers[edge.target] > layers[edge.source]:
        x1, y1 = a.center_x, a.y + a.height
        x2, y2 = b.center_x, b.y
        bend = max((y2 - y1) / 2, 12)
        d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
        return Route(edge, d, (x1 + x2) / 2, (y1 + y2) / 2)
    # a loop (or a jump back up): out of the right side, round, into the right side
    x1, y1 = a.x + a.width, a.y + a.height / 2
    x2, y2 = b.x + b.width, b.y + b.height / 2
    out = max(right, x1, x2) + 30
    d = f"M{x1:.1f},{y1:.1f} C{out:.1f},{y1:.1f} {out:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return Route(edge, d, out - 6, (y1 + y2) / 2, back=True)

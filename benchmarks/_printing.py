"""One way to print a benchmark table: Runtara beside DBOS and the floor, with ratios.

Rows are ``{work, runtara, dbos, floor}`` with an optional ``unit`` (``s`` by default,
``ms``, or ``/s`` for a rate); None where a system has no figure. Used by
``table.py`` (every row) and ``durability.py`` (its own rows, run alone).
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:.2f} s"


def _ratio(ours: Any, other: Any) -> str:
    if not isinstance(ours, int | float) or not isinstance(other, int | float) or not other:
        return "-"
    return f"{ours / other:.2f}x"


def print_table(table: list[Row]) -> None:
    header = ("work", "Runtara", "DBOS", "floor", "Runtara/DBOS", "Runtara/floor")
    lines = [header]
    for row in table:
        unit = row.get("unit", "s")
        lines.append(
            (
                str(row["work"]),
                _cell(row["runtara"], unit),
                _cell(row["dbos"], unit),
                _cell(row["floor"], unit),
                _ratio(row["runtara"], row["dbos"]),
                _ratio(row["runtara"], row["floor"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("(/s rows: a rate, higher is better; the ratios are Runtara over the other)")

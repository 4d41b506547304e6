"""The ``csv`` agent: parse CSV into JSON rows, write JSON rows as CSV, read the header.

(Named ``csv_agent`` so it does not shadow the standard library's ``csv``.)
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from runtara.agents.errors import InputError, PermanentError
from runtara.agents.files import decode_text, encode_text, file_value, to_bytes
from runtara.agents.framework import Doc, agent

csv_agent = agent(
    "csv",
    name="CSV",
    description="Parse CSV into JSON rows, generate CSV from JSON, inspect headers.",
)

#: Largest single field accepted when parsing (a larger one is a clear error, not a hang).
MAX_FIELD_BYTES = 16 * 1024 * 1024

CsvData = Annotated[
    Any,
    Doc("CSV content: byte array, base64 string or file value `{content, ...}`.", type="file"),
]
Encoding = Annotated[str, Doc("Character encoding, e.g. UTF-8, ISO-8859-1, windows-1252.")]
Delimiter = Annotated[str, Doc("Column delimiter (one character).")]
QuoteChar = Annotated[str, Doc("Quote character (one character).")]
EscapeChar = Annotated[str | None, Doc("Escape character (one character); none by default.")]
UseHeader = Annotated[bool, Doc("The first row holds column names.")]
SkipEmpty = Annotated[bool, Doc("Skip empty lines.")]
Trim = Annotated[bool, Doc("Trim whitespace around every field.")]


@csv_agent.capability(
    output="With a header: an array of objects (column -> string); else an array of arrays."
)
def from_csv(
    data: CsvData,
    encoding: Encoding = "UTF-8",
    delimiter: Delimiter = ",",
    quote_char: QuoteChar = '"',
    escape_char: EscapeChar = None,
    use_header: UseHeader = True,
    skip_empty_lines: SkipEmpty = True,
    trim_whitespace: Trim = False,
) -> list[Any]:
    """Parse CSV into a JSON array of objects (or arrays without a header)."""
    records = _records(
        data, encoding, delimiter, quote_char, escape_char, skip_empty_lines, trim_whitespace
    )
    if not use_header:
        return list(records)
    header = next(records, None)
    if header is None:
        return []
    rows: list[Any] = []
    for record in records:
        row: dict[str, str] = {}
        for index, field in enumerate(record):
            name = header[index] if index < len(header) else str(index)
            if name:
                row[name] = field
        rows.append(row)
    return rows


@csv_agent.capability(
    output="The CSV document: a byte array (Runtara's shape), or text / base64 / a file value."
)
def to_csv(
    value: Annotated[Any, Doc("Array of objects, array of arrays, or a single object.")],
    encoding: Encoding = "UTF-8",
    delimiter: Delimiter = ",",
    quote_char: QuoteChar = '"',
    escape_char: EscapeChar = None,
    use_header: Annotated[bool, Doc("Write a header row.")] = True,
    output_format: Annotated[
        Literal["bytes", "text", "base64", "file"],
        Doc("bytes: array of byte values; text: a string; base64; file: a file value."),
    ] = "bytes",
    neutralize_formulas: Annotated[
        bool,
        Doc(
            "Prefix text cells that a spreadsheet would run as a formula (starting with "
            "=, +, -, @, tab or CR) with a single quote; numbers are left alone."
        ),
    ] = True,
) -> Any:
    """Convert JSON data to CSV."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=_one_char(delimiter, "delimiter"),
        quotechar=_one_char(quote_char, "quote_char"),
        escapechar=_one_char(escape_char, "escape_char") if escape_char else None,
        doublequote=not escape_char,
        lineterminator="\r\n",
    )
    header, rows = _table(value)
    if neutralize_formulas:
        header = [_inert(cell) for cell in header]
        rows = [[_inert(cell) for cell in row] for row in rows]
    try:
        if use_header and header:
            writer.writerow(header)
        writer.writerows(rows)
    except csv.Error as exc:
        raise PermanentError(f"cannot write CSV: {exc}", code="CSV_WRITE_ERROR") from None
    text = buffer.getvalue()
    if output_format == "text":
        return text
    raw = encode_text(text, encoding)
    if output_format == "base64":
        return file_value(raw)["content"]
    if output_format == "file":
        return file_value(raw, filename="data.csv", mime_type="text/csv")
    return list(raw)


@csv_agent.capability(
    output="Column name -> inferred type of the first data row (String, Integer, Double, Boolean)."
)
def get_header(
    data: CsvData,
    encoding: Encoding = "UTF-8",
    delimiter: Delimiter = ",",
    quote_char: QuoteChar = '"',
    escape_char: EscapeChar = None,
    use_header: UseHeader = True,
    skip_empty_lines: SkipEmpty = True,
    trim_whitespace: Trim = False,
) -> dict[str, str]:
    """Read the CSV header and infer each column's type from the first data row."""
    records = _records(
        data, encoding, delimiter, quote_char, escape_char, skip_empty_lines, trim_whitespace
    )
    first = next(records, None)
    if first is None:
        raise PermanentError("the CSV document is empty", code="CSV_EMPTY_FILE")
    if use_header:
        names = [name or str(index) for index, name in enumerate(first)]
        sample = next(records, None)
    else:
        names = [f"Column {index + 1}" for index in range(len(first))]
        sample = first
    return {
        name: infer_type(sample[index]) if sample and index < len(sample) else "String"
        for index, name in enumerate(names)
    }


def infer_type(field: str) -> str:
    """Runtara's type names: the JSON reading of the text decides."""
    try:
        parsed = json.loads(field)
    except ValueError:
        return "String"
    if isinstance(parsed, bool):
        return "Boolean"
    if isinstance(parsed, int):
        return "Integer"
    if isinstance(parsed, float):
        return "Double"
    return "String"


def _records(
    data: Any,
    encoding: str,
    delimiter: str,
    quote_char: str,
    escape_char: str | None,
    skip_empty_lines: bool,
    trim_whitespace: bool,
) -> Iterator[list[str]]:
    text = decode_text(to_bytes(data, field="data"), encoding)
    csv.field_size_limit(MAX_FIELD_BYTES)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=_one_char(delimiter, "delimiter"),
        quotechar=_one_char(quote_char, "quote_char"),
        escapechar=_one_char(escape_char, "escape_char") if escape_char else None,
        strict=False,
    )
    try:
        for record in reader:
            if skip_empty_lines and all(not field.strip() for field in record) and len(record) <= 1:
                continue
            yield [field.strip() for field in record] if trim_whitespace else record
    except csv.Error as exc:
        raise PermanentError(
            f"cannot parse CSV at line {reader.line_num}: {exc}", code="CSV_PARSE_ERROR"
        ) from None


def _table(value: Any) -> tuple[list[str], list[list[str]]]:
    """Header and rows for to-csv. Objects are written by key, so key order may vary."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return [], []
    if all(isinstance(item, dict) for item in items):
        header: list[str] = []
        for item in items:
            header.extend(key for key in item if key not in header)
        return header, [[_cell(item.get(key)) for key in header] for item in items]
    if all(isinstance(item, list) for item in items):
        width = max(len(item) for item in items)
        return [f"Column {n}" for n in range(1, width + 1)], [
            [_cell(cell) for cell in item] for item in items
        ]
    if any(isinstance(item, dict | list) for item in items):
        raise InputError(
            "value must be an array of objects, an array of arrays, or scalars", field="value"
        )
    return ["value"], [[_cell(item)] for item in items]


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _inert(cell: str) -> str:
    """``cell``, with a leading ``'`` when a spreadsheet would evaluate it."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _one_char(value: str | None, field: str) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise InputError(f"{field} must be exactly one character, got {value!r}", field=field)
    return value

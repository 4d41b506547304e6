"""The ``xml`` agent: parse XML into JSON and write JSON as XML.

Parsing is safe against hostile documents: any DOCTYPE is refused, so there are no
external entities, no entity expansion (billion laughs) and no network or file access;
nesting depth is bounded. (Named ``xml_agent`` so the standard library's ``xml`` is
not shadowed.)

JSON shape (Runtara's): ``{"<root tag>": element}`` where an element is its text when it
has only text, else an object with ``"@attributes"``, ``"@text"`` and one key per child
tag (an array when the tag repeats); an empty element is ``{}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from runtara.agents.errors import InputError, PermanentError
from runtara.agents.files import decode_text, to_bytes
from runtara.agents.framework import Doc, agent

xml_agent = agent(
    "xml",
    name="XML",
    description="Parse XML into JSON (safely: no DTDs, no entities) and generate XML.",
)

ATTRIBUTES_KEY = "@attributes"
TEXT_KEY = "@text"
#: Deepest element nesting parsed. Each level may take two JSON levels (an object, and
#: an array when a tag repeats), and the runtime stores JSON up to 200 levels deep: a
#: deeper document is refused here, with its own error, not later by the checkpoint.
MAX_DEPTH = 64


@xml_agent.capability(output="`{<root tag>: element}` (see the agent's description).")
def from_xml(
    data: Annotated[Any, Doc("XML content: byte array, base64 string or file value.", type="file")],
    encoding: Annotated[str, Doc("Character encoding of the content.")] = "UTF-8",
    preserve_text: Annotated[bool, Doc("Keep text nodes.")] = True,
    include_attributes: Annotated[bool, Doc("Keep attributes under `@attributes`.")] = True,
    trim_text: Annotated[bool, Doc("Trim whitespace around text.")] = True,
) -> dict[str, Any]:
    """Parse XML into a JSON structure."""
    text = decode_text(to_bytes(data, field="data"), encoding)
    builder = _TreeBuilder(preserve_text, include_attributes, trim_text)
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.characters
    parser.ordered_attributes = False
    try:
        parser.Parse(_strip_declared_encoding(text), True)
    except expat.ExpatError as exc:
        raise PermanentError(
            f"invalid XML at line {exc.lineno}, column {exc.offset}: {expat.ErrorString(exc.code)}",
            code="XML_PARSE_ERROR",
        ) from None
    if builder.root is None:
        raise PermanentError("the XML document has no root element", code="XML_PARSE_ERROR")
    return builder.root


@xml_agent.capability(output="The XML document as text.")
def to_xml(
    value: Annotated[Any, Doc("JSON in from-xml's shape, or any object/array.")],
    root_element: Annotated[
        str | None,
        Doc("Root tag; without it `value` must be an object with exactly one key."),
    ] = None,
    include_declaration: Annotated[bool, Doc("Start with `<?xml ...?>`.")] = True,
    indent: Annotated[int, Doc("Spaces per nesting level; 0 writes one line.")] = 2,
) -> str:
    """Convert JSON to XML (the inverse of from-xml)."""
    if root_element is None:
        if not isinstance(value, dict) or len(value) != 1:
            raise InputError(
                "value must be an object with one key (the root tag), or give root_element",
                field="value",
            )
        ((root_element, value),) = value.items()
    if indent < 0:
        raise InputError("indent cannot be negative", field="indent")
    lines: list[str] = []
    _write_element(lines, root_element, value, 0, indent)
    separator = "\n" if indent else ""
    body = separator.join(lines)
    if include_declaration:
        return '<?xml version="1.0" encoding="UTF-8"?>' + separator + body
    return body


def _refuse_doctype(*_: Any) -> None:
    raise PermanentError(
        "XML with a DOCTYPE is refused (DTDs and entities are not allowed)",
        code="XML_FORBIDDEN",
    )


def _refuse_entity(*_: Any) -> None:
    raise PermanentError("XML entity declarations are not allowed", code="XML_FORBIDDEN")


def _refuse_external(*_: Any) -> int:
    raise PermanentError("external XML entities are not allowed", code="XML_FORBIDDEN")


_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _strip_declared_encoding(text: str) -> str:
    """The bytes were already decoded; drop ``encoding=`` so expat does not re-decode."""
    return _DECLARATION.sub(
        lambda m: re.sub(r"""\s+encoding\s*=\s*["'][^"']*["']""", "", m.group(0)), text, count=1
    )


class _TreeBuilder:
    """Builds from-xml's JSON from expat events; text runs split by child elements."""

    def __init__(self, preserve_text: bool, include_attributes: bool, trim_text: bool) -> None:
        self.preserve_text = preserve_text
        self.include_attributes = include_attributes
        self.trim_text = trim_text
        self.stack: list[_Open] = []
        self.root: dict[str, Any] | None = None

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise PermanentError(
                f"XML nesting is deeper than {MAX_DEPTH} levels", code="XML_FORBIDDEN"
            )
        if self.stack:
            self.stack[-1].runs.append([])
        self.stack.append(_Open(tag, attributes if self.include_attributes else {}))

    def characters(self, data: str) -> None:
        if self.preserve_text and self.stack:
            self.stack[-1].runs[-1].append(data)

    def end(self, tag: str) -> None:
        value = self.stack.pop().to_json(self.trim_text)
        if self.stack:
            self.stack[-1].children.setdefault(tag, []).append(value)
        else:
            self.root = {tag: value}


class _Open:
    """An element whose end tag has not been seen yet."""

    def __init__(self, tag: str, attributes: dict[str, str]) -> None:
        self.tag = tag
        self.attributes = attributes
        self.children: dict[str, list[Any]] = {}
        self.runs: list[list[str]] = [[]]

    def to_json(self, trim_text: bool) -> Any:
        runs = ["".join(run) for run in self.runs]
        if trim_text:
            runs = [run.strip() for run in runs]
        text = " ".join(run for run in runs if run) if trim_text else "".join(runs)
        if not trim_text and not text.strip() and self.children:
            text = ""  # indentation between child elements is not content
        element: dict[str, Any] = {}
        if self.attributes:
            element[ATTRIBUTES_KEY] = dict(self.attributes)
        if text:
            element[TEXT_KEY] = text
        for tag, values in self.children.items():
            element[tag] = values[0] if len(values) == 1 else values
        if len(element) == 1 and TEXT_KEY in element:
            return text
        return element


def _write_element(lines: list[str], tag: str, value: Any, depth: int, indent: int) -> None:
    _check_tag(tag)
    pad = " " * (indent * depth)
    if isinstance(value, list):
        for item in value:
            _write_element(lines, tag, item, depth, indent)
        return
    if not isinstance(value, dict):
        lines.append(f"{pad}<{tag}>{escape(_text(value))}</{tag}>")
        return
    attributes = value.get(ATTRIBUTES_KEY) or {}
    if not isinstance(attributes, dict):
        raise InputError(f"{tag}: {ATTRIBUTES_KEY} must be an object", field="value")
    attrs = "".join(f" {_check_tag(k)}={quoteattr(_text(v))}" for k, v in attributes.items())
    children = {k: v for k, v in value.items() if k not in (ATTRIBUTES_KEY, TEXT_KEY)}
    text = value.get(TEXT_KEY)
    if not children:
        if text is None:
            lines.append(f"{pad}<{tag}{attrs}/>")
        else:
            lines.append(f"{pad}<{tag}{attrs}>{escape(_text(text))}</{tag}>")
        return
    lines.append(f"{pad}<{tag}{attrs}>")
    if text is not None:
        lines.append(f"{' ' * (indent * (depth + 1))}{escape(_text(text))}")
    for child_tag, child in children.items():
        _write_element(lines, child_tag, child, depth + 1, indent)
    lines.append(f"{pad}</{tag}>")


_NAME = re.compile(r"^[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?$")


def _check_tag(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"{name!r} is not a valid XML name", field="value")
    return name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

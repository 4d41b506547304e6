"""The ``text`` agent: string clean-up, splitting, templating, hashing and base64."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Annotated, Any, Literal

from runtara.agents import _template
from runtara.agents.errors import PermanentError
from runtara.agents.files import decode_text, file_value, to_bytes
from runtara.agents.framework import Doc, agent

text_agent = agent(
    "text",
    name="Text",
    description="String clean-up, case, split/join, templates, hashing and base64.",
)

TextInput = Annotated[str | None, Doc("The text to process.")]


@text_agent.capability(output="The rendered text.")
def render_template(
    *,
    text: Annotated[
        str | None, Doc("Template with {{ path }}, filters, {% if %} and {% for %}.")
    ] = None,
    context: Annotated[Any, Doc("The object the template reads.")],
) -> str:
    """Render a Jinja-style template against a context object."""
    if text is None:
        raise PermanentError("template text is required", code="TEXT_TEMPLATE_MISSING")
    return _template.render(text, context)


@text_agent.capability(output="The text trimmed, with whitespace runs collapsed to one space.")
def trim_normalize(text: TextInput = None) -> str:
    """Remove leading/trailing whitespace and collapse multiple spaces into one."""
    return " ".join((text or "").split())


@text_agent.capability(output="The converted text.")
def case_conversion(
    text: TextInput = None,
    format: Annotated[
        Literal["lowercase", "uppercase", "title-case"], Doc("The target case.")
    ] = "lowercase",
) -> str:
    """Convert text to lowercase, UPPERCASE or Title Case."""
    value = text or ""
    if format == "uppercase":
        return value.upper()
    if format == "title-case":
        return " ".join(word[:1].upper() + word[1:].lower() for word in value.split())
    return value.lower()


@text_agent.capability(output="The text with every occurrence replaced.")
def find_replace(
    text: TextInput = None,
    pattern: Annotated[str | None, Doc("The literal text to find.")] = None,
    replacement: Annotated[str | None, Doc("The replacement text.")] = None,
) -> str:
    """Replace all instances of a literal pattern."""
    value = text or ""
    if not pattern or replacement is None:
        return value
    return value.replace(pattern, replacement)


@text_agent.capability(output="The text before the first line break.")
def extract_first_line(text: TextInput = None) -> str:
    """Get only the text before the first newline."""
    lines = (text or "").splitlines()
    return lines[0] if lines else ""


@text_agent.capability(output="The first whitespace-separated word.")
def extract_first_word(text: TextInput = None) -> str:
    """Get the first space-separated token."""
    words = (text or "").split()
    return words[0] if words else ""


SplitDelimiter = Annotated[str | None, Doc("The delimiter to split on (default `,`).")]


@text_agent.capability(output="The trimmed parts joined with `join_delimiter`.")
def split_join(
    text: TextInput = None,
    delimiter: SplitDelimiter = ",",
    join_delimiter: Annotated[str | None, Doc("The delimiter to join with.")] = " ",
) -> str:
    """Split text by one delimiter and join the trimmed parts with another."""
    if not text:
        return ""
    parts = text.split(delimiter or ",")
    return (" " if join_delimiter is None else join_delimiter).join(p.strip() for p in parts)


@text_agent.capability(output="The parts, as an array of strings.")
def split(text: TextInput = None, delimiter: SplitDelimiter = ",") -> list[str]:
    """Split text by a delimiter into an array."""
    if not text:
        return []
    return text.split(delimiter or ",")


@text_agent.capability(output="The text without the given characters.")
def remove_characters(
    text: TextInput = None,
    pattern: Annotated[str | None, Doc("Every character in this string is removed.")] = None,
) -> str:
    """Remove specific characters from text."""
    value = text or ""
    if not pattern:
        return value
    return value.translate({ord(c): None for c in pattern})


@text_agent.capability(output="The text between the delimiters, or an empty string.")
def substring_extraction(
    text: TextInput = None,
    start_delimiter: Annotated[str | None, Doc("Text just before the part.")] = None,
    end_delimiter: Annotated[str | None, Doc("Text just after the part.")] = None,
) -> str:
    """Extract the text between a start and an end delimiter."""
    value = text or ""
    if start_delimiter is None or end_delimiter is None:
        return value
    start = value.find(start_delimiter)
    if start < 0:
        return ""
    start += len(start_delimiter)
    end = value.find(end_delimiter, start)
    return value[start:end] if end >= 0 else ""


@text_agent.capability(output="One line (collapse) or one part per line (expand).")
def collapse_expand_lines(
    text: TextInput = None,
    delimiter: Annotated[
        str | None, Doc("Without it, lines are joined with spaces; with it, text is split.")
    ] = None,
) -> str:
    """Collapse lines into one, or expand delimited text into one part per line."""
    value = text or ""
    if not value:
        return ""
    if delimiter is None:
        return " ".join(line.strip() for line in value.splitlines())
    return "\n".join(part.strip() for part in value.split(delimiter))


@text_agent.capability(output="A lowercase ASCII slug with hyphens.")
def slugify(text: TextInput = None) -> str:
    """Convert text to a URL-safe or SKU-friendly slug."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    kept = "".join(
        c if c.isascii() and c.isalnum() else "-" if c.isspace() else "" for c in decomposed
    )
    return "-".join(part for part in kept.split("-") if part)


@text_agent.capability(output="The SHA-256 hex digest (empty text gives an empty string).")
def hash_text(text: TextInput = None) -> str:
    """Create a SHA-256 hash of the text."""
    if not text:
        return ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@text_agent.capability(output="The encoded bytes, as an array of integers 0-255.")
def as_byte_array(
    text: TextInput = None,
    encoding: Annotated[Literal["UTF-8"], Doc("The text encoding.")] = "UTF-8",
) -> list[int]:
    """Convert text to a byte array."""
    return list((text or "").encode("utf-8"))


@text_agent.capability(output="The decoded text.")
def from_base64(
    data: Annotated[Any, Doc("Base64 string or file value `{content, ...}`.", type="file")],
    encoding: Annotated[str, Doc("Character encoding of the decoded bytes.")] = "UTF-8",
) -> str:
    """Decode base64 content to a string."""
    return decode_text(to_bytes(data, field="data"), encoding, field="encoding")


@text_agent.capability(output="A file value `{content (base64), filename?, mimeType?}`.")
def to_base64(
    data: Annotated[Any, Doc("Text, byte array or file value to encode.")],
    filename: Annotated[str | None, Doc("File name to attach.")] = None,
    mimeType: Annotated[str | None, Doc("MIME type to attach.")] = None,
) -> dict[str, Any]:
    """Encode text or bytes as a base64 file value."""
    if isinstance(data, dict):
        to_bytes(data, field="data")  # validates the file value
        result = dict(data)
        if filename is not None:
            result["filename"] = filename
        if mimeType is not None:
            result["mimeType"] = mimeType
        return result
    raw = data.encode("utf-8") if isinstance(data, str) else to_bytes(data, field="data")
    return file_value(raw, filename=filename, mime_type=mimeType)

"""The text agent."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke


def text(capability: str, **inputs: Any) -> Any:
    return invoke("text", capability, inputs, step_id="x")


def test_render_template_substitutes_filters_branches_and_loops() -> None:
    template = (
        "Hi {{ user.name | title }}! "
        "{% if orders | length > 1 %}{{ orders | length }} orders{% else %}one order{% endif %}: "
        "{% for o in orders %}{{ loop.index }}.{{ o.sku }}{% if not loop.last %}, {% endif %}{% endfor %}"
        "{# hidden #} ({{ user.tier | default('basic') }}, {{ orders[0]['sku'] | lower }})"
    )
    context = {"user": {"name": "ada lovelace"}, "orders": [{"sku": "A1"}, {"sku": "B2"}]}

    assert text("render-template", text=template, context=context) == (
        "Hi Ada Lovelace! 2 orders: 1.A1, 2.B2 (basic, a1)"
    )


@pytest.mark.parametrize(
    "template",
    ["{{ name | nope }}", "{% if x %}unclosed", "{{ __import__('os') }}", "{% include 'x' %}"],
)
def test_bad_templates_are_clear_permanent_errors(template: str) -> None:
    with pytest.raises(AgentError) as caught:
        text("render-template", text=template, context={"name": "n"})
    assert caught.value.category == "permanent"


def test_runaway_templates_are_stopped() -> None:
    nested = "{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}"
    wide = "{% for a in xs %}{{ big }}{% endfor %}"

    with pytest.raises(AgentError, match="loops ran more than"):
        text("render-template", text=nested, context={"xs": list(range(5000))})
    with pytest.raises(AgentError, match="rendered text is longer"):
        text("render-template", text=wide, context={"xs": list(range(5000)), "big": "x" * 5000})


def test_render_template_needs_text() -> None:
    with pytest.raises(AgentError, match="template text is required"):
        text("render-template", context={})


@pytest.mark.parametrize(
    ("capability", "inputs", "expected"),
    [
        ("trim-normalize", {"text": "  a \n\t b  "}, "a b"),
        ("case-conversion", {"text": "hELLO wORLD", "format": "title-case"}, "Hello World"),
        ("case-conversion", {"text": "Hi"}, "hi"),
        ("case-conversion", {"text": "Hi", "format": "uppercase"}, "HI"),
        ("find-replace", {"text": "a-b-a", "pattern": "a", "replacement": "x"}, "x-b-x"),
        ("find-replace", {"text": "a.b", "pattern": "."}, "a.b"),
        ("extract-first-line", {"text": "one\ntwo"}, "one"),
        ("extract-first-word", {"text": "  first second"}, "first"),
        ("split-join", {"text": "a, b ,c", "join_delimiter": "|"}, "a|b|c"),
        ("split", {"text": "a;b", "delimiter": ";"}, ["a", "b"]),
        ("split", {"text": ""}, []),
        ("remove-characters", {"text": "a,b!c", "pattern": ",!"}, "abc"),
        (
            "substring-extraction",
            {"text": "x [in] y", "start_delimiter": "[", "end_delimiter": "]"},
            "in",
        ),
        (
            "substring-extraction",
            {"text": "no match", "start_delimiter": "[", "end_delimiter": "]"},
            "",
        ),
        ("collapse-expand-lines", {"text": " a \n b "}, "a b"),
        ("collapse-expand-lines", {"text": "a, b", "delimiter": ","}, "a\nb"),
        ("slugify", {"text": "  Zażółć Gęślą -- Jaźń! "}, "zazoc-gesla-jazn"),
        ("as-byte-array", {"text": "é"}, [195, 169]),
        ("hash-text", {"text": ""}, ""),
    ],
)
def test_text_operations(capability: str, inputs: dict[str, Any], expected: Any) -> None:
    assert text(capability, **inputs) == expected


def test_hash_text_is_sha256() -> None:
    assert text("hash-text", text="abc") == hashlib.sha256(b"abc").hexdigest()


def test_base64_round_trip_and_file_values() -> None:
    encoded = text("to-base64", data="zażółć", filename="a.txt", mimeType="text/plain")

    assert encoded == {
        "content": base64.b64encode("zażółć".encode()).decode(),
        "filename": "a.txt",
        "mimeType": "text/plain",
    }
    assert text("from-base64", data=encoded) == "zażółć"
    assert text("from-base64", data=encoded["content"]) == "zażółć"
    assert text("to-base64", data=[104, 105])["content"] == "aGk="


def test_from_base64_with_bad_input() -> None:
    with pytest.raises(InputError) as caught:
        text("from-base64", data="***")
    assert caught.value.field == "data"
    with pytest.raises(InputError, match="0-255"):
        text("to-base64", data=[1, 300])

"""The xml agent: Runtara's JSON shape, options, to-xml, and hostile documents."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke

CATALOG = """<?xml version="1.0" encoding="UTF-8"?>
<catalog>
  <book id="1">
    <title>  The Rust Book </title>
    <price currency="USD">39.99</price>
  </book>
  <book id="2"><title>Programming Rust</title></book>
  <empty/>
</catalog>"""


def from_xml(text: str, **options: Any) -> Any:
    data = base64.b64encode(text.encode()).decode()
    return invoke("xml", "from-xml", {"data": data, **options}, step_id="parse")


def test_elements_attributes_and_repeated_tags() -> None:
    assert from_xml(CATALOG) == {
        "catalog": {
            "book": [
                {
                    "@attributes": {"id": "1"},
                    "title": "The Rust Book",
                    "price": {"@attributes": {"currency": "USD"}, "@text": "39.99"},
                },
                {"@attributes": {"id": "2"}, "title": "Programming Rust"},
            ],
            "empty": {},
        }
    }


def test_options_drop_attributes_keep_whitespace_or_drop_text() -> None:
    no_attrs = from_xml(CATALOG, include_attributes=False)
    untrimmed = from_xml(CATALOG, trim_text=False)
    no_text = from_xml("<a><b>x</b></a>", preserve_text=False)

    assert no_attrs["catalog"]["book"][0] == {"title": "The Rust Book", "price": "39.99"}
    assert untrimmed["catalog"]["book"][0]["title"] == "  The Rust Book "
    assert no_text == {"a": {"b": {}}}


def test_mixed_content_keeps_text_runs() -> None:
    assert from_xml("<p>Hello <b>big</b> world</p>") == {"p": {"@text": "Hello world", "b": "big"}}


def test_other_encodings() -> None:
    raw = '<?xml version="1.0" encoding="ISO-8859-2"?><miasto>Kraków</miasto>'.encode("iso-8859-2")
    result = invoke("xml", "from-xml", {"data": list(raw), "encoding": "ISO-8859-2"})

    assert result == {"miasto": "Kraków"}


def test_to_xml_round_trips_from_xml() -> None:
    parsed = from_xml(CATALOG)

    written = invoke("xml", "to-xml", {"value": parsed})

    assert written.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<catalog>\n  <book id="1">')
    assert from_xml(written) == parsed


def test_to_xml_escapes_and_uses_a_root_element() -> None:
    written = invoke(
        "xml",
        "to-xml",
        {
            "value": {"note": 'a < b & "c"', "items": [1, 2], "@attributes": {"v": 'x"y'}},
            "root_element": "doc",
            "include_declaration": False,
            "indent": 0,
        },
    )

    assert written == (
        '<doc v=\'x"y\'><note>a &lt; b &amp; "c"</note><items>1</items><items>2</items></doc>'
    )


def test_to_xml_refuses_invalid_names() -> None:
    with pytest.raises(InputError, match="not a valid XML name"):
        invoke("xml", "to-xml", {"value": {"bad name": 1}, "root_element": "r"})


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<lolz>&lol9;</lolz>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_hostile_documents_are_refused(document: str) -> None:
    with pytest.raises(AgentError) as caught:
        from_xml(document)

    assert caught.value.code == "XML_FORBIDDEN"
    assert "DOCTYPE" in caught.value.message
    assert "root:" not in caught.value.message


def test_deep_nesting_is_refused() -> None:
    deep = "<a>" * 5000 + "</a>" * 5000

    with pytest.raises(AgentError) as caught:
        from_xml(deep)

    assert caught.value.code == "XML_FORBIDDEN"


def test_malformed_xml_names_line_and_column() -> None:
    with pytest.raises(AgentError) as caught:
        from_xml("<root>\n  <open>\n</root>")

    assert caught.value.code == "XML_PARSE_ERROR"
    assert "line 3" in caught.value.message


def test_bad_base64_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        invoke("xml", "from-xml", {"data": "%%%"})
    assert caught.value.field == "data"


def test_plain_xml_text_where_base64_is_expected_says_how_to_pass_it() -> None:
    from runtara.agents.errors import AgentError
    from runtara.agents.invoke import invoke

    with pytest.raises(AgentError) as caught:
        invoke("xml", "from-xml", {"data": "<order id='1'/>"}, step_id="parse")
    message = str(caught.value)
    assert message.startswith("step 'parse' (xml:from-xml): data is not valid base64")
    assert "text:to-base64" in message

"""The csv agent: parsing options, generation, headers, input forms, round trips, hostile input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke


def from_csv(data: Any, **options: Any) -> Any:
    return invoke("csv", "from-csv", {"data": data, **options}, step_id="parse")


def b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode()


def test_header_rows_become_objects_and_every_input_form_is_accepted() -> None:
    text = "name,age\nAlice,30\nBob,25\n"
    expected = [{"name": "Alice", "age": "30"}, {"name": "Bob", "age": "25"}]

    assert from_csv(list(text.encode())) == expected
    assert from_csv(b64(text)) == expected
    assert from_csv({"content": b64(text), "filename": "p.csv", "mimeType": "text/csv"}) == expected


def test_without_header_rows_are_arrays() -> None:
    assert from_csv(b64("a,1\nb,2\n"), use_header=False) == [["a", "1"], ["b", "2"]]


def test_delimiter_quote_and_escape() -> None:
    text = "id;note\n1;'semi;colon'\n2;say \\;hi\n"
    rows = from_csv(b64(text), delimiter=";", quote_char="'", escape_char="\\")

    assert rows == [{"id": "1", "note": "semi;colon"}, {"id": "2", "note": "say ;hi"}]


def test_empty_lines_and_trimming() -> None:
    text = "a , b\n\n 1 , 2 \n\n"

    assert from_csv(b64(text), trim_whitespace=True) == [{"a": "1", "b": "2"}]
    assert from_csv(b64(text), skip_empty_lines=False, use_header=False) == [
        ["a ", " b"],
        [],
        [" 1 ", " 2 "],
        [],
    ]


def test_encoding_latin1() -> None:
    assert from_csv(b64("city\nKraków\n", "iso-8859-2"), encoding="ISO-8859-2") == [
        {"city": "Kraków"}
    ]


def test_wrong_encoding_is_a_clear_error() -> None:
    with pytest.raises(AgentError) as caught:
        from_csv(b64("city\nKraków\n", "iso-8859-2"))
    assert caught.value.code == "DECODE_ERROR"
    with pytest.raises(InputError, match="unknown encoding"):
        from_csv(b64("a\n"), encoding="klingon")


def test_to_csv_objects_arrays_and_formats() -> None:
    rows = [{"name": "Ann", "tags": ["a", "b"], "n": 1.5}, {"name": 'Quote "q"', "ok": True}]

    text = invoke("csv", "to-csv", {"value": rows, "output_format": "text"})
    raw = invoke("csv", "to-csv", {"value": [[1, None], [2, "x"]], "use_header": False})

    assert text == 'name,tags,n,ok\r\nAnn,"[""a"",""b""]",1.5,\r\n"Quote ""q""",,,true\r\n'
    assert bytes(raw) == b"1,\r\n2,x\r\n"


def test_to_csv_as_file_value() -> None:
    value = invoke("csv", "to-csv", {"value": {"a": 1}, "output_format": "file"})

    assert value["mimeType"] == "text/csv"
    assert base64.b64decode(value["content"]) == b"a\r\n1\r\n"


def test_get_header_infers_types() -> None:
    header = invoke("csv", "get-header", {"data": b64("name,age,score,active\nAnn,30,1.5,true\n")})
    no_header = invoke("csv", "get-header", {"data": b64("x,1\n"), "use_header": False})

    assert header == {"name": "String", "age": "Integer", "score": "Double", "active": "Boolean"}
    assert no_header == {"Column 1": "String", "Column 2": "Integer"}


def test_bad_base64_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        from_csv("not base64 !!!")
    assert caught.value.field == "data"
    assert "base64" in str(caught.value)


def test_huge_field_is_a_clear_error() -> None:
    huge = 'a\n"' + "x" * (17 * 1024 * 1024) + '"\n'

    with pytest.raises(AgentError) as caught:
        from_csv(b64(huge))

    assert caught.value.code == "CSV_PARSE_ERROR"
    assert "field larger than field limit" in caught.value.message
    assert "line 2" in caught.value.message


def test_multi_character_delimiter_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        from_csv(b64("a\n"), delimiter="::")
    assert caught.value.field == "delimiter"


cells = st.text(max_size=20)
delimiters = st.sampled_from([",", ";", "\t", "|"])


@settings(max_examples=150, deadline=None)
@given(
    header=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=5, unique=True),
    data=st.data(),
    delimiter=delimiters,
)
def test_objects_round_trip(header: list[str], data: st.DataObject, delimiter: str) -> None:
    rows = data.draw(st.lists(st.fixed_dictionaries({name: cells for name in header}), max_size=8))
    options = {"delimiter": delimiter}

    written = invoke("csv", "to-csv", {"value": rows, "neutralize_formulas": False, **options})
    parsed = invoke("csv", "from-csv", {"data": written, "skip_empty_lines": False, **options})

    assert parsed == rows


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=5), max_size=8), delimiter=delimiters)
def test_arrays_round_trip(rows: list[list[str]], delimiter: str) -> None:
    options = {"delimiter": delimiter, "use_header": False}

    written = invoke(
        "csv",
        "to-csv",
        {"value": rows, "output_format": "base64", "neutralize_formulas": False, **options},
    )
    parsed = invoke("csv", "from-csv", {"data": written, "skip_empty_lines": False, **options})

    assert parsed == rows

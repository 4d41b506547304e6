"""The transform agent: documented behaviour plus property tests."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtara.agents.errors import AgentError
from runtara.agents.invoke import invoke
from runtara.agents.transform import sort_key


def t(capability: str, **inputs: Any) -> Any:
    return invoke("transform", capability, inputs, step_id="t")


ORDERS = [
    {"id": 1, "customer": {"email": "a@x"}, "status": "paid", "lines": [{"sku": "A"}]},
    {"id": 2, "customer": {"email": None}, "status": "open", "lines": []},
    {
        "id": 3,
        "customer": {"email": "c@x"},
        "status": "paid",
        "lines": [{"sku": "B"}, {"sku": "C"}],
    },
]


def test_extract_and_paths() -> None:
    assert t("extract", value=ORDERS, property_path="customer.email") == {
        "values": ["a@x", None, "c@x"],
        "count": 3,
    }
    assert t("get-value-by-path", value={"a": [{"b": 5}]}, property_path="$.a[0].b") == 5
    assert t("get-value-by-path", value={"a": 1}, property_path="a.missing.deeper") is None


def test_set_value_by_path_copies_and_creates() -> None:
    target = {"a": {"b": 1}}

    result = t("set-value-by-path", target=target, property_path="a.c.d", value=2)

    assert result == {"a": {"b": 1, "c": {"d": 2}}}
    assert target == {"a": {"b": 1}}


def test_filter_non_values() -> None:
    items = [None, "", "  ", 0, "0", "x", 5]
    result = t(
        "filter-non-values",
        value=items,
        filter_null_values=True,
        filter_empty_strings=True,
        filter_blank_strings=True,
        filter_zero_values=True,
    )

    assert result == {"items": ["x", 5], "count": 2, "removed_count": 5}
    assert t("filter-non-values", value=items)["count"] == len(items)


def test_select_first_and_json_strings() -> None:
    assert t("select-first", value=[None, "", " ", 0, False, "hit", "later"]) == "hit"
    assert t("select-first", value=[]) is None
    assert t("to-json-string", value={"a": "é"}) == {"json": '{"a":"é"}', "length": 9}
    assert t("from-json-string", value='{"a": [1]}') == {"a": [1]}
    assert t("from-json-string", value="") is None


def test_from_json_string_error_has_position() -> None:
    with pytest.raises(AgentError, match="line 1, column 2"):
        t("from-json-string", value="{oops")


@pytest.mark.parametrize(
    ("condition", "values", "ids"),
    [
        ("INCLUDES", ["paid"], [1, 3]),
        ("EXCLUDES", "paid", [2]),
        ("STARTS_WITH", ["op"], [2]),
        ("ENDS_WITH", ["id"], [1, 3]),
        ("CONTAINS", ["ai"], [1, 3]),
    ],
)
def test_filter_conditions(condition: str, values: Any, ids: list[int]) -> None:
    result = t(
        "filter",
        value=ORDERS,
        property_path="status",
        match_values=values,
        match_condition=condition,
    )
    assert [o["id"] for o in result["items"]] == ids


def test_filter_includes_matches_numbers_given_as_text() -> None:
    result = t(
        "filter", value=ORDERS, property_path="id", match_values=["2"], match_condition="INCLUDES"
    )
    assert [o["id"] for o in result["items"]] == [2]


def test_sort_map_group_append_flat_map_length() -> None:
    assert [o["id"] for o in t("sort", value=ORDERS, property_path="customer.email")["items"]] == [
        2,
        1,
        3,
    ]
    assert [
        o["id"] for o in t("sort", value=ORDERS, property_path="id", ascending=False)["items"]
    ] == [3, 2, 1]
    assert t(
        "map-fields", source_data=ORDERS[0], mappings={"customer.email": "email", "nope": "x"}
    ) == {
        "result": {"email": "a@x"},
        "field_count": 1,
    }
    grouped = t("group-by", value=ORDERS, key="status", as_map=True)
    assert {k: [o["id"] for o in v] for k, v in grouped["groups"].items()} == {
        "paid": [1, 3],
        "open": [2],
    }
    assert t("append", array=[1], item={"a": 2}) == {"array": [1, {"a": 2}], "length": 2}
    assert t("flat-map", value=ORDERS, property_path="lines")["items"] == [
        {"sku": "A"},
        {"sku": "B"},
        {"sku": "C"},
    ]
    assert t("array-length", value=[1, 2, 3]) == {"length": 3, "is_array": True}
    assert t("array-length", value="abcd") == {"length": 4, "is_array": False}


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)
records = st.lists(st.fixed_dictionaries({"k": json_scalars, "v": json_values}), max_size=12)


@settings(max_examples=200, deadline=None)
@given(items=records, ascending=st.booleans())
def test_sort_is_an_ordered_permutation(items: list[dict[str, Any]], ascending: bool) -> None:
    result = t("sort", value=items, property_path="k", ascending=ascending)["items"]

    assert Counter(json.dumps(i, sort_keys=True) for i in result) == Counter(
        json.dumps(i, sort_keys=True) for i in items
    )
    keys = [sort_key(i["k"]) for i in result]
    assert keys == sorted(keys, reverse=not ascending)


@settings(max_examples=200, deadline=None)
@given(items=records, match=st.lists(json_scalars, max_size=3))
def test_includes_and_excludes_partition_the_input(
    items: list[dict[str, Any]], match: list[Any]
) -> None:
    common = {"value": items, "property_path": "k", "match_values": match}

    kept = t("filter", match_condition="INCLUDES", **common)
    dropped = t("filter", match_condition="EXCLUDES", **common)

    assert kept["count"] + dropped["count"] == len(items)
    assert sorted(map(json.dumps, kept["items"] + dropped["items"])) == sorted(
        map(json.dumps, items)
    )


objects_without_lists = st.recursive(
    json_scalars,
    lambda inner: st.dictionaries(st.from_regex(r"[a-z]{1,3}", fullmatch=True), inner, max_size=3),
    max_leaves=8,
)


def test_set_value_inside_a_list_by_name_is_refused() -> None:
    with pytest.raises(AgentError) as caught:
        t("set-value-by-path", target={"a": [1]}, property_path="a.b", value=2)
    assert caught.value.code == "TRANSFORM_INVALID_PATH"


@settings(max_examples=200, deadline=None)
@given(
    target=st.dictionaries(
        st.from_regex(r"[a-z]{1,3}", fullmatch=True), objects_without_lists, max_size=4
    ),
    path=st.lists(st.from_regex(r"[a-z]{1,3}", fullmatch=True), min_size=1, max_size=4),
    value=json_values,
)
def test_set_then_get_returns_the_value(
    target: dict[str, Any], path: list[str], value: Any
) -> None:
    dotted = ".".join(path)

    updated = t("set-value-by-path", target=target, property_path=dotted, value=value)

    assert t("get-value-by-path", value=updated, property_path=dotted) == value


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_json_string_round_trip(value: Any) -> None:
    text = t("to-json-string", value=value)["json"]
    assert t("from-json-string", value=text) == value


@settings(max_examples=200, deadline=None)
@given(items=records)
def test_group_by_keeps_every_keyed_item_once(items: list[dict[str, Any]]) -> None:
    groups = t("group-by", value=items, key="k")["groups"]

    regrouped = [item for group in groups for item in group]
    keyed = [item for item in items if item["k"] is not None]
    assert sorted(map(json.dumps, regrouped)) == sorted(map(json.dumps, keyed))
    assert all(len({json.dumps(i["k"]) for i in g}) == 1 for g in groups)

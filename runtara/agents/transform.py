"""The ``transform`` agent: reshape JSON values (paths, filters, sorting, grouping)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from runtara.agents._paths import get_path, set_path
from runtara.agents.errors import InputError, PermanentError
from runtara.agents.framework import Doc, agent

transform = agent(
    "transform",
    name="Transform",
    description="Reshape JSON values: extract, filter, sort, map, group and convert.",
)

PATH_DOC = "Dot path inside each item, e.g. `customer.email` or `$.items.0.sku`."


@transform.capability(output="`{values, count}`: the value at the path for every item.")
def extract(
    value: Annotated[list[Any], Doc("The array to read from.")],
    property_path: Annotated[str, Doc(PATH_DOC)],
) -> dict[str, Any]:
    """Extract one property from every item of an array."""
    values = value if not property_path else [get_path(item, property_path) for item in value]
    return {"values": values, "count": len(values)}


@transform.capability(output="The value at the path, or null.")
def get_value_by_path(
    value: Annotated[Any, Doc("The object or array to read.")] = None,
    property_path: Annotated[str | None, Doc(PATH_DOC)] = None,
) -> Any:
    """Read a value at a path."""
    if value is None or not property_path:
        return None
    return get_path(value, property_path)


@transform.capability(output="A copy of `target` with the value set.")
def set_value_by_path(
    target: Annotated[Any, Doc("The object to update (a copy is returned).")] = None,
    property_path: Annotated[str | None, Doc(PATH_DOC)] = None,
    value: Annotated[Any, Doc("The value to set.")] = None,
) -> Any:
    """Set a value at a path, creating objects on the way."""
    if target is None:
        return None
    if not property_path:
        return target
    try:
        return set_path(target, property_path, value)
    except ValueError as exc:
        raise PermanentError(str(exc), code="TRANSFORM_INVALID_PATH") from None


@transform.capability(output="`{items, count, removed_count}`.")
def filter_non_values(
    value: Annotated[list[Any], Doc("The array to clean.")],
    property_path: Annotated[str | None, Doc("Test this property instead of the item.")] = None,
    filter_empty_strings: Annotated[bool, Doc('Remove "" values.')] = False,
    filter_null_values: Annotated[bool, Doc("Remove null values.")] = False,
    filter_blank_strings: Annotated[bool, Doc("Remove whitespace-only strings.")] = False,
    filter_zero_values: Annotated[bool, Doc('Remove 0 and "0".')] = False,
) -> dict[str, Any]:
    """Remove items whose value is null, empty, blank or zero (as selected)."""

    def keep(item: Any) -> bool:
        probe = get_path(item, property_path) if property_path else item
        if filter_null_values and probe is None:
            return False
        if isinstance(probe, str):
            if filter_empty_strings and probe == "":
                return False
            if filter_blank_strings and not probe.strip():
                return False
            if filter_zero_values and probe == "0":
                return False
        return not (filter_zero_values and _is_number(probe) and probe == 0)

    items = [item for item in value if keep(item)]
    return {"items": items, "count": len(items), "removed_count": len(value) - len(items)}


@transform.capability(output="The first truthy item, or null.")
def select_first(
    value: Annotated[list[Any] | None, Doc("Skips null, blank strings, 0 and false.")] = None,
) -> Any:
    """Select the first truthy value of an array."""
    for item in value or []:
        if item is None or item is False:
            continue
        if isinstance(item, str) and not item.strip():
            continue
        if _is_number(item) and item == 0:
            continue
        return item
    return None


@transform.capability(output="The parsed JSON value (null for an empty string).")
def from_json_string(value: Annotated[str | None, Doc("A JSON document.")] = None) -> Any:
    """Parse a JSON string."""
    if not value:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise PermanentError(
            f"value is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            code="TRANSFORM_JSON_PARSE_ERROR",
        ) from None


@transform.capability(output="`{json, length}`: the compact JSON text and its length.")
def to_json_string(value: Annotated[Any, Doc("Any JSON value.")]) -> dict[str, Any]:
    """Serialize a value to a JSON string."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return {"json": text, "length": len(text)}


MatchCondition = Literal["INCLUDES", "EXCLUDES", "STARTS_WITH", "ENDS_WITH", "CONTAINS"]


@transform.capability(output="`{items, count, removed_count}`: the items that match.")
def filter(
    *,
    value: Annotated[list[Any] | None, Doc("The array to filter.")] = None,
    property_path: Annotated[str, Doc(PATH_DOC + " Empty or `$` tests the item itself.")],
    match_values: Annotated[Any, Doc("A value or list of values to compare with.")],
    match_condition: Annotated[MatchCondition, Doc("How an item's value is compared.")],
) -> dict[str, Any]:
    """Keep the items whose property matches the given values."""
    items = value or []
    candidates = match_values if isinstance(match_values, list) else [match_values]
    whole_item = property_path.strip() in ("", "$")

    def matches(item: Any) -> bool:
        probe = item if whole_item else get_path(item, property_path)
        if match_condition == "INCLUDES":
            return any(_loosely_equal(probe, c) for c in candidates)
        if match_condition == "EXCLUDES":
            return not any(_loosely_equal(probe, c) for c in candidates)
        if not isinstance(probe, str):
            return False
        texts = [c if isinstance(c, str) else json.dumps(c) for c in candidates]
        if match_condition == "STARTS_WITH":
            return any(probe.startswith(t) for t in texts)
        if match_condition == "ENDS_WITH":
            return any(probe.endswith(t) for t in texts)
        return any(t in probe for t in texts)

    kept = [item for item in items if matches(item)]
    return {"items": kept, "count": len(kept), "removed_count": len(items) - len(kept)}


@transform.capability(output="`{items, count}`: the sorted array.")
def sort(
    value: Annotated[list[Any], Doc("The array to sort.")],
    property_path: Annotated[str | None, Doc("Sort by this property of each item.")] = None,
    ascending: Annotated[bool, Doc("Ascending (true) or descending order.")] = True,
) -> dict[str, Any]:
    """Sort an array, optionally by a property. Nulls sort first; the sort is stable."""

    def key(item: Any) -> tuple[int, Any]:
        return sort_key(get_path(item, property_path) if property_path else item)

    items = sorted(value, key=key, reverse=not ascending)
    return {"items": items, "count": len(items)}


def sort_key(value: Any) -> tuple[int, Any]:
    """Total order over JSON values: null < booleans < numbers < strings < others."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if _is_number(value):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True))


@transform.capability(output="`{result, field_count}`: target name -> value (nulls dropped).")
def map_fields(
    source_data: Annotated[Any, Doc("The object to read from.")],
    mappings: Annotated[dict[str, str], Doc("Source path -> target field name.")],
) -> dict[str, Any]:
    """Copy selected fields of an object under new names."""
    result: dict[str, Any] = {}
    for source_path, target in mappings.items():
        found = get_path(source_data, source_path)
        if found is not None:
            result[target] = found
    return {"result": result, "field_count": len(result)}


@transform.capability(output="`{groups, group_count}`: arrays of items (or key -> array).")
def group_by(
    value: Annotated[list[Any], Doc("The array to group.")],
    key: Annotated[str, Doc("Path of the grouping key in each item.")],
    as_map: Annotated[bool, Doc("Return an object key -> items instead of a list.")] = False,
) -> dict[str, Any]:
    """Group the items of an array by a key; items without the key are left out."""
    if not isinstance(value, list):
        raise InputError("value must be an array", field="value")
    grouped: dict[str, list[Any]] = {}
    for item in value:
        found = get_path(item, key)
        if found is None:
            continue
        grouped.setdefault(_key_text(found), []).append(item)
    groups: Any = grouped if as_map else list(grouped.values())
    return {"groups": groups, "group_count": len(grouped)}


def _key_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@transform.capability(output="`{array, length}`: the array with the item appended.")
def append(
    array: Annotated[list[Any], Doc("The array to extend (a copy is returned).")],
    item: Annotated[Any, Doc("The item to append.")],
) -> dict[str, Any]:
    """Append an item to an array."""
    extended = [*array, item]
    return {"array": extended, "length": len(extended)}


@transform.capability(output="`{items, count}`: the nested arrays, concatenated.")
def flat_map(
    value: Annotated[list[Any], Doc("The array of items holding arrays.")],
    property_path: Annotated[str, Doc("Path of the nested array in each item.")],
) -> dict[str, Any]:
    """Concatenate a nested array property of every item."""
    items: list[Any] = []
    if property_path:
        for item in value:
            nested = get_path(item, property_path)
            if isinstance(nested, list):
                items.extend(nested)
    return {"items": items, "count": len(items)}


@transform.capability(output="`{length, is_array}` (strings and objects report their size).")
def array_length(value: Annotated[Any, Doc("An array, string or object.")]) -> dict[str, Any]:
    """Get the length of an array."""
    length = len(value) if isinstance(value, list | str | dict) else 0
    return {"length": length, "is_array": isinstance(value, list)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _loosely_equal(left: Any, right: Any) -> bool:
    """Equal as JSON values, or as text when one side is a string (``"1" == 1``)."""
    if left == right and type(left) is type(right):
        return True
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, str) != isinstance(right, str) and None not in (left, right):
        return _key_text(left) == _key_text(right)
    return False

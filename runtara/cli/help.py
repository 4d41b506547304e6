"""Help text in the user's words: value placeholders instead of Python type names.

Typer labels values with Python types (``<bool>``, ``<str>``, ``<list[Path]>``,
``{file}``); a user wants ``--input TEXT``, ``--child PATH`` and a flag without a
placeholder. Applied once to the whole command tree, so a new option cannot miss it.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

#: Python annotations and click type names -> the placeholder shown after an option.
PLACEHOLDERS: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "NUMBER",
    "text": "TEXT",
    "integer": "INTEGER",
    "integer range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
}


def tidy(command: Any) -> Any:
    """Give every parameter of ``command`` and its subcommands a plain placeholder.

    Duck-typed over click and the click fork that newer typer releases carry.
    """
    ctx = command.context_class(command, info_name=command.name)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.metavar = ""
    for param in command.params:
        _placeholder(param)
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
    return command


def _placeholder(param: Any) -> None:
    if param.param_type_name == "argument":
        _argument(param)
        return
    if param.metavar is not None:
        return
    if getattr(param, "is_flag", False):
        param.metavar = ""
        return
    kind = _kind(param)
    if kind is not None:
        param.metavar = kind


def _argument(param: Any) -> None:
    """``FILE`` / ``[FILE]`` / ``PATH...`` in the usage line, no type beside it."""
    name = param.metavar or (param.name or "value").upper()
    param.metavar = name
    usage = name if param.required else f"[{name}]"
    usage += "..." if param.nargs != 1 else ""
    if hasattr(param, "_usage_display_name"):  # typer's fork: {name} for required ones
        param._usage_display_name = lambda: usage
    if hasattr(param, "display_type_rich"):
        param.display_type_rich = lambda ctx: None


def _kind(param: Any) -> str | None:
    """The placeholder for the option's value; None for a choice (typer lists them)."""
    described = getattr(param, "type_descriptor", None)
    if described is None:  # click
        if type(param.type).__name__ == "Choice":
            return None
        return PLACEHOLDERS.get(param.type.name, "VALUE")
    if described.is_choice:
        return None
    if described.is_path:
        return "PATH"
    annotation = described.annotation
    if described.is_list:
        annotation = (getattr(annotation, "__args__", None) or (str,))[0]
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "PATH"
    return PLACEHOLDERS.get(annotation, "VALUE")

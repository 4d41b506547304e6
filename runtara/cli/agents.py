"""``runtara agents list|show``: print the agent catalog (built-in and installed agents)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from runtara.cli._common import Format, OutputFormat, fail, print_json, stdout

if TYPE_CHECKING:
    from runtara.agents.framework import ConnectionTypeSpec

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_agents(format: Format = OutputFormat.text) -> None:
    """List every agent and its capabilities."""
    agents = _catalog().agents.values()
    if format == OutputFormat.json:
        print_json([spec.to_json() for spec in agents])
        return
    table = Table(title="Agents", show_lines=False)
    table.add_column("Agent", style="bold")
    table.add_column("Capability")
    table.add_column("Inputs (* required)")
    table.add_column("Description")
    for spec in agents:
        flags = " (secure)" if spec.secure else ""
        for index, cap in enumerate(spec.capabilities.values()):
            table.add_row(
                f"{spec.id}{flags}" if index == 0 else "",
                cap.id,
                ", ".join(f"{i.name}{'*' if i.required else ''}" for i in cap.inputs) or "-",
                cap.description,
            )
    stdout.print(table)
    stdout.print(_connection_types_table(_catalog().connection_types.values()))


@app.command("show")
def show(
    reference: str = typer.Argument(
        ...,
        metavar="AGENT[:CAPABILITY]|CONNECTION_TYPE",
        help="e.g. http, http:http-request, http_bearer",
    ),
    format: Format = OutputFormat.text,
) -> None:
    """Show one agent, one capability with its typed inputs and output, or a connection type."""
    from runtara.agents.catalog import closest
    from runtara.agents.framework import AgentSpec

    catalog = _catalog()
    try:
        found = catalog.lookup(reference)
    except LookupError as exc:
        connection_type = catalog.connection_types.get(reference)
        if connection_type is not None:
            _show_connection_type(connection_type, format)
            return
        if ":" in reference:
            fail(str(exc.args[0]))
        close = closest(reference, [*catalog.agents, *catalog.connection_types])
        fail(
            f"unknown agent or connection type {reference!r}."
            + (f" Did you mean {close!r}?" if close else "")
            + f" Agents: {', '.join(catalog.agents)};"
            f" connection types: {', '.join(catalog.connection_types)}"
        )
    if isinstance(found, AgentSpec):
        if format == OutputFormat.json:
            print_json(found.to_json())
            return
        stdout.print(f"[bold]{found.id}[/bold] — {found.name}{' (secure)' if found.secure else ''}")
        if found.description:
            stdout.print(found.description)
        for cap in found.capabilities.values():
            stdout.print(f"  {found.id}:{cap.id}  {cap.description}")
        accepted = [t for t in catalog.connection_types.values() if found.id in t.agents]
        if accepted:
            stdout.print(_connection_types_table(accepted))
        return
    if format == OutputFormat.json:
        print_json({"agentId": found.agent_id, **found.to_json()})
        return
    stdout.print(f"[bold]{found.qualified_id}[/bold] — {found.description}")
    table = Table(show_lines=False)
    for column in ("Input", "Type", "Required", "Default", "Description"):
        table.add_column(column)
    for spec in found.inputs:
        table.add_row(
            spec.name,
            _type_text(spec.to_json()),
            "yes" if spec.required else "",
            json.dumps(spec.default) if spec.has_default else "",
            spec.description,
        )
    stdout.print(table)
    stdout.print(f"Output ({found.output_type}): {found.output_description}")
    if found.takes_connection:
        stdout.print("Accepts a connection (_connection).")


def _show_connection_type(spec: ConnectionTypeSpec, format: OutputFormat) -> None:
    if format == OutputFormat.json:
        print_json(spec.to_json())
    else:
        stdout.print(_connection_types_table([spec]))


def _connection_types_table(types: Iterable[ConnectionTypeSpec]) -> Table:
    table = Table(title="Connection types (integrationId)", show_lines=False)
    table.add_column("Type", style="bold")
    table.add_column("Used by")
    table.add_column("Parameters (* required, secret ones encrypted and masked)")
    table.add_column("Description")
    for spec in types:
        parameters = ", ".join(
            f"{p.name}{'*' if p.required else ''}{' (secret)' if p.secret else ''}"
            for p in spec.parameters
        )
        table.add_row(spec.id, ", ".join(spec.agents), parameters, spec.description)
    return table


def _type_text(spec: dict[str, Any]) -> str:
    text = str(spec["type"])
    if "items" in spec:
        text += f"[{spec['items']}]"
    if "enum" in spec:
        text += " " + "|".join(str(v) for v in spec["enum"])
    return text


def _catalog() -> Any:
    from runtara.agents.catalog import AgentLoadError, catalog

    try:
        return catalog()
    except AgentLoadError as exc:
        fail(str(exc))

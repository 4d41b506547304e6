"""A small MCP server over stdio (the official SDK's ``MCPServer``), for the AiAgent tests.

    python tests/support/mcp_numbers.py LOG_FILE

Two tools: ``add_numbers(a, b)`` (each call is appended to LOG_FILE, so a test sees the
side effect) and ``shout(text)``.
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("numbers")


@server.tool()
def add_numbers(a: int, b: int) -> str:
    """Add two numbers."""
    with open(sys.argv[1], "a", encoding="utf-8") as log:
        log.write(f"add {a} {b}\n")
    return str(a + b)


@server.tool()
def shout(text: str) -> str:
    """Say a text in capitals."""
    return text.upper()


if __name__ == "__main__":
    server.run("stdio")

"""The MCP server: the only package that imports `mcp`.

`app` builds the server and answers start-up requests with light imports; `tools` holds the
tools and loads the domain modules on the first tool call; `published` keeps the tool
definitions served by tools/list.
"""

from ml_systemization.server.app import INSTRUCTIONS, SERVER_NAME, build_server

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "build_server"]

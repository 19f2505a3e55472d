"""All tools, registered on the first tool call (`app._Server._ensure_tools`), not at start-up:
the tool modules load the design models, the rules, the store and the renderer."""

from __future__ import annotations

from mcp.server import MCPServer

from ml_systemization.server.design_tools import register_design_tools
from ml_systemization.server.handoff_tools import register_handoff_tools
from ml_systemization.server.history_tools import register_history_tools
from ml_systemization.server.step_tools import register_step_tools
from ml_systemization.settings import Settings


def register_tools(server: MCPServer, settings: Settings) -> None:
    """Register every tool on `server`, in the order tools/list shows them."""
    register_design_tools(server)
    register_step_tools(server)
    register_history_tools(server)
    register_handoff_tools(server, settings)

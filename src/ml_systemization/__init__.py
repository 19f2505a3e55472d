"""ml-systemization: an MCP server that designs ML/LLM features for production, with numbers."""

__version__ = "0.1.0"

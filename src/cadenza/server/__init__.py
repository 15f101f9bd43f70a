"""cadenza's HTTP server: the Maestro runs API, OpenAI-compatible chat, its own runs API
and a web page, over one run manager and one store. Start it with ``cadenza serve``."""

from .app import create_app, run_server
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "run_server"]

"""What an entry point (the CLI, the dashboard, ``serve``, ``worker``) needs before it can
call the operations API: the settings, read once, and logging set up from them. Front ends take these from here, not from ``graph/core``, so the
operations package is the whole of what they depend on."""

from graph.core.errors import SettingsError
from graph.core.logs import configure_logging
from graph.core.settings import Remote, Settings

__all__ = ["Remote", "Settings", "SettingsError", "configure_logging"]

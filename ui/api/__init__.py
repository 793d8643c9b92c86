"""The HTTP API (``prolight serve``): the operations API over HTTP, for other systems."""

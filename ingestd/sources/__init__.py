"""Where files come from: one adapter per source type behind one port (``port.py``), found by
type through ``registry.py`` (installed packages add types by entry point: docs/sources.md)."""

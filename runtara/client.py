"""Management client (Python API used by the CLI and by users); see the Runtime issue."""

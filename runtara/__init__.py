"""Runtara for Python: durable workflows compiled to native binaries."""

__version__ = "0.1.0"

"""The web console (``/ui/`` on ``runtara server``) and the workflow graph it draws.

Kept import-light: ``runtara graph`` uses :mod:`runtara.console.graph` and
:mod:`runtara.console.formats` without loading the web framework; the pages live in
:mod:`runtara.console.app`.
"""

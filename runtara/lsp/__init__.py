"""The workflow language server (``runtara lsp``): see ``runtara.lsp.server``.

It reuses ``runtara.dsl``'s loader, source map, reference parser and validator; there
is no second parser of the language here.
"""

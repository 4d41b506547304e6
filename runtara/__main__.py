"""``python -m runtara`` is the ``runtara`` command."""

from runtara.cli import main

main()

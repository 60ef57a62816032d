"""``python -m esd_cli``: the same as the ``esd`` command."""

from esd_cli.main import main

main()

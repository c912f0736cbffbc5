"""``python -m backoffice``: the same command line as the ``backoffice`` script."""

from backoffice.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

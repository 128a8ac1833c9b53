"""``python -m stc``: the command line."""

from .cli import run

run()

"""``python -m stc`` runs the command line."""

from .cli import main

main()

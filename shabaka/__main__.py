"""``python -m shabaka`` runs the command line."""

from shabaka.cli import main

main()

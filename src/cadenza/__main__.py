"""`python -m cadenza` runs the CLI."""

from .cli import main

main()

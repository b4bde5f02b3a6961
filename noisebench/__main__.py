"""``python -m noisebench`` runs the CLI."""

from noisebench.cli import main

main()

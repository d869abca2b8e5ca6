"""`python -m services.cli` is the `maillage` command."""
from services.cli.main import run

run()

"""`python -m core ...`: the command line, one module per command group (see core.cli.main)."""

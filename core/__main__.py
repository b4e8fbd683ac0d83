"""`python -m core ...`: see core.cli.main."""

from core.cli.main import main

raise SystemExit(main())

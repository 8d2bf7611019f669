"""`python -m gateway.cli ...`: the `lgsp` command, for child processes of `lgsp dev` and tests."""

import sys

from gateway.cli.main import main

sys.exit(main())

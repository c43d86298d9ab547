"""`python -m s2s` runs the command line."""

import sys

from s2s.cli import main

sys.exit(main())

"""``python -m gate.cli``: the ``gate`` command."""

import sys

from gate.cli import main

sys.exit(main())

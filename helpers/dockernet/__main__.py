"""``python -m dockernet COMMAND``: see :mod:`dockernet.cli`."""

import sys

from .cli import main

sys.exit(main())

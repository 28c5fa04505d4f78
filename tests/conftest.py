"""The shared fixtures (client, lab_image, learner, other_learner) live in the repository's
root conftest.py, so the library's docstring examples can use them too."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests/nbrun.py, shared by authors and tests


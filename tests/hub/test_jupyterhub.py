"""pytest's view of tests/hub/run_hub_test.py: the JupyterHub classroom, end to end.

Collected only with DOCKERNET_HUB_TEST=1 (see conftest.py beside it); the runner is a process of
its own, so its time limit, its hub and its cleanup are the same as when run by hand.
"""

import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).with_name("run_hub_test.py")
TIMEOUT_S = 900


def test_three_learners_run_lesson_02_at_once_on_one_and_two_engines():
    done = subprocess.run([sys.executable, str(RUNNER), "--timeout", str(TIMEOUT_S)],
                          capture_output=True, text=True, timeout=TIMEOUT_S + 180)
    print(done.stdout)
    assert done.returncode == 0, f"the hub test failed:\n{done.stdout}\n{done.stderr[-3000:]}"

"""The JupyterHub classroom test runs on its own, never in `make test`.

It takes minutes, needs `bash .ci/install-hub` and the test engine (`make engine`). Run it with
`.venv/bin/python tests/hub/run_hub_test.py`, or through pytest with DOCKERNET_HUB_TEST=1:
`DOCKERNET_HUB_TEST=1 .venv/bin/pytest tests/hub`.
"""

import os

# The hub's config is read by JupyterHub (it needs the loader's get_config); the others are
# the runner and its modules, which have no doctests to collect.
collect_ignore = ["jupyterhub_test_config.py", "run_hub_test.py", "hubclient.py", "hubprocess.py"]
if os.environ.get("DOCKERNET_HUB_TEST") != "1":
    collect_ignore.append("test_jupyterhub.py")

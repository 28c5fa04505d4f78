"""The classroom's JupyterHub config (classroom/jupyterhub/jupyterhub_config.py), as the test runs it.

Everything comes from the classroom's file; only what would collide with another hub on the
same machine changes: the hub's internal port and the proxy's API port, which the test picks
free (``DOCKERNET_HUB_TEST_HUB_URL``, ``DOCKERNET_HUB_TEST_PROXY_API_URL``). tests/hub/run_hub_test.py
sets these and the classroom's own settings.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub's config loader defines get_config
CLASSROOM = Path(__file__).resolve().parents[2] / "classroom" / "jupyterhub"
load_subconfig(str(CLASSROOM / "jupyterhub_config.py"))  # noqa: F821 - the loader defines it

c.JupyterHub.hub_bind_url = os.environ["DOCKERNET_HUB_TEST_HUB_URL"]
c.ConfigurableHTTPProxy.api_url = os.environ["DOCKERNET_HUB_TEST_PROXY_API_URL"]

"""JupyterHub for a dockernet classroom: one server, one kernel and one learner id per learner.

Start it from the course's checkout, after ``bash .ci/install-hub`` (classroom/README.md says
more)::

    DOCKERNET_HUB_PASSWORD='pick-a-workshop-password' \\
        .venv/bin/jupyterhub -f classroom/jupyterhub/jupyterhub_config.py

What every learner gets, and why:

- **A login**: any user name with the workshop's shared password (JupyterHub's
  ``SharedPasswordAuthenticator``), or only the names in ``DOCKERNET_HUB_USERS``.
- **A JupyterLab server** started by ``SimpleLocalProcessSpawner``: a process of the hub's own OS
  user, with a home of its own (``<hub dir>/home/<user>``) that gets a copy of the course's
  notebooks the first time. That is no isolation between learners, and none is lost: whoever can
  use the Docker socket is root on that Docker host anyway (lessons/instructors/README.md,
  "Security"). Give the classroom a machine of its own.
- **A learner id**: the hub sets ``JUPYTERHUB_USER`` in every server, and the lessons' labs take
  their learner id from it (``dockernet.naming.learner_id``), so names, subnets, host ports and
  every cleanup are per learner, even with 30 learners on one Docker daemon.
- **A Docker engine**: ``DOCKER_HOST`` is set per learner by the spawner's environment, so a
  class can be spread over several Docker hosts (``DOCKERNET_HUB_ENGINES``,
  ``DOCKERNET_HUB_ENGINE_MAP``).

Settings (environment variables of the hub, so that one file serves every classroom and the
project's own test, tests/hub):

``DOCKERNET_HUB_PASSWORD``
    the shared password learners log in with (8 characters or more). Required.
``DOCKERNET_HUB_USERS``
    user names allowed to log in, separated by spaces or commas (default: any name).
``DOCKERNET_HUB_URL``
    where learners reach the hub (default ``http://:8000``: every address of the machine,
    port 8000). Put it behind HTTPS (a reverse proxy) on any network you do not trust.
``DOCKERNET_HUB_DIR``
    the hub's state: its database, cookie secret and the learners' homes
    (default ``/srv/dockernet-hub``).
``DOCKERNET_HUB_NOTEBOOKS``
    the folder copied into each new home as ``notebooks/`` (default: this checkout's
    ``notebooks/``; ``make student-copy`` makes one without solutions: ``student-notebooks/``).
``DOCKERNET_HUB_ENGINES``
    ``DOCKER_HOST`` values separated by spaces: each learner gets one of them, always the same
    one for the same user name (a hash of the name picks it).
``DOCKERNET_HUB_ENGINE_MAP``
    a file of ``user DOCKER_HOST`` lines (``#`` starts a comment); it wins over the hash.
    Learners in neither get the hub's own ``DOCKER_HOST``, else the default socket.
``DOCKERNET_HUB_API_TOKEN``
    a token for the instructor's scripts (the service ``dockernet-instructor``: add users, start
    and stop their servers through the hub's REST API). Unset: no such service.

``DOCKERNET_POOL``, ``DOCKERNET_PORTS`` and ``DOCKERNET_MAX_SIMULATED_HOSTS`` set on the hub reach
every learner's kernel unchanged (lessons/instructors/README.md says what they do), and so do
``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` (engines on other machines, over TCP with TLS).
``DOCKERNET_LEARNER`` never does: the learner id must come from the hub's user name.
"""

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub's config loader defines get_config

CHECKOUT = Path(__file__).resolve().parents[2]
HUB_DIR = Path(os.environ.get("DOCKERNET_HUB_DIR") or "/srv/dockernet-hub")
NOTEBOOKS = Path(os.environ.get("DOCKERNET_HUB_NOTEBOOKS") or CHECKOUT / "notebooks")
DEFAULT_DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

# -- the hub and its proxy ------------------------------------------------------------------

c.JupyterHub.bind_url = os.environ.get("DOCKERNET_HUB_URL") or "http://:8000"
# Its state in one folder, not in whatever folder the hub was started from.
HUB_DIR.mkdir(parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")
# .ci/install-hub installs the proxy into the checkout (npm, no global install); else PATH's.
LOCAL_PROXY = CHECKOUT / ".hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
if LOCAL_PROXY.exists():
    c.ConfigurableHTTPProxy.command = [str(LOCAL_PROXY)]

# -- who may log in -------------------------------------------------------------------------

# One password for the room, any user name (or the listed ones). Fine for a workshop on a
# machine of its own; for a long course use a real authenticator (PAM with system users, OAuth).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("DOCKERNET_HUB_PASSWORD")
ALLOWED = set(re.split(r"[\s,]+", os.environ.get("DOCKERNET_HUB_USERS", "").strip())) - {""}
if ALLOWED:
    c.Authenticator.allowed_users = ALLOWED
else:
    c.Authenticator.allow_all = True

# -- each learner's server ------------------------------------------------------------------

c.JupyterHub.spawner_class = "simple"  # SimpleLocalProcessSpawner: no system users needed
c.SimpleLocalProcessSpawner.home_dir_template = str(HUB_DIR / "home" / "{username}")
# The server and its kernels run in this venv, where dockernet is installed.
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab/tree/notebooks"
# Jupyter refuses to run as root unless told; the servers run as the hub's user.
if os.geteuid() == 0:
    c.Spawner.args = ["--allow-root"]
# Thirty servers starting at once on a small machine take longer than the defaults (60 s, 30 s).
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
# The course's own settings reach the kernels; DOCKERNET_LEARNER is left out on purpose. So do
# the docker client's TLS settings, for engines on other machines (tcp://HOST:2376).
c.Spawner.env_keep.extend(["DOCKERNET_POOL", "DOCKERNET_PORTS", "DOCKERNET_MAX_SIMULATED_HOSTS",
                           "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"])


def engine_map(path: str) -> dict:
    """``user DOCKER_HOST`` lines of ``path`` as a dict (``#`` comments, blank lines skipped)."""
    pairs = {}
    for line in Path(path).read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2:
            pairs[words[0]] = words[1]
        elif words:
            raise ValueError(f"{path}: expected 'user DOCKER_HOST', found {line!r}")
    return pairs


def docker_host_for(spawner) -> str:
    """The Docker engine of this learner: the map's, else one of the engines, else the hub's.

    Read at every spawn, so editing the map file moves a learner at their next server start.
    """
    name = spawner.user.name
    if os.environ.get("DOCKERNET_HUB_ENGINE_MAP"):
        mapped = engine_map(os.environ["DOCKERNET_HUB_ENGINE_MAP"]).get(name)
        if mapped:
            return mapped
    engines = os.environ.get("DOCKERNET_HUB_ENGINES", "").split()
    if engines:
        # A hash, not Python's hash(): the same learner lands on the same engine every time.
        return engines[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(engines)]
    return DEFAULT_DOCKER_HOST


# JUPYTERHUB_USER is set by the hub itself; DOCKER_HOST is chosen per learner at spawn time.
c.Spawner.environment = {"DOCKER_HOST": docker_host_for}


def copy_notebooks(spawner) -> None:
    """Give a new learner the course's notebooks; never overwrite a learner's own copy."""
    target = Path(spawner.home_dir) / "notebooks"
    if not target.exists() and NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        spawner.log.info("dockernet: copied %s to %s", NOTEBOOKS, target)


c.Spawner.pre_spawn_hook = copy_notebooks

# -- the instructor's scripts ---------------------------------------------------------------

if os.environ.get("DOCKERNET_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "dockernet-instructor",
                              "api_token": os.environ["DOCKERNET_HUB_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "dockernet-instructor",
        "description": "add learners, start and stop their servers",
        "scopes": ["admin:users", "admin:servers"],
        "services": ["dockernet-instructor"],
    }]

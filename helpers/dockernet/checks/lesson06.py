"""Self-checks and claims for lesson 06 (``none`` and ``container:``).

Claims check what a section says, on whatever engine runs it: each returns what it
was given (so a cell can show it) and raises :class:`~dockernet.ExpectationFailed`
with the reason when the engine disagrees. The exercises' self-checks read live
state and return a :class:`~dockernet.checks.CheckResult` naming the first thing
still wrong: a hint, never the answer.

>>> from dockernet.checks import lesson06
>>> lesson06.second_server(lab, "?")                   # doctest: +ELLIPSIS
CheckResult(passed=False, hint="`prediction` is '?': ...")
"""

from __future__ import annotations

import re

import docker

from .. import namespaces, probe
from ..errors import LabError
from ..naming import lab_labels
from . import CheckResult, choice, container_or_none, fail, verdict

#: Exercise 1: the second server, the container whose namespace it must join, its port.
SECOND_SERVER, TARGET, TAKEN_PORT = "web2", "app", 8000
SECOND_SERVER_REASONS = {
    "a": "Two sockets cannot both listen on one address and port in one namespace (unless "
         "both ask for SO_REUSEPORT, which http.server does not). Try it and read the error.",
    "c": "Docker gives ports to no one in container: mode: it gives web2 no network at all, "
         "only app's. Try it and read the error.",
    "d": "web2 has no namespace of its own in which to listen apart from app. Try it and "
         "read the error.",
}
SECOND_SERVER_RIGHT = "b"
#: Exercise 2: a sidecar of the ``none`` container, and what the learner predicts it has.
NONE_CONTAINER, SIDECAR_OF_NONE = "loner", "debug2"
SIDECAR_ITEMS = ("has_eth0", "reaches_app", "in_loners_namespace", "hostname_is_loner")


_fail = fail


def _rows(table, container):
    rows = table[table["container"] == container]
    if rows.empty:
        _fail(f"the table has no row for {container}: pass it to namespaces.interfaces.")
    return rows


# -- claims of the sections ---------------------------------------------------------------


def only_loopback(lab, table, container: str = "loner"):
    """Section 1: ``container`` (``--network none``) has only ``lo``, no route at all, and
    Docker lists it on the network ``none`` without an address. Returns ``table``."""
    interfaces = _rows(table, container)["interface"].tolist()
    if interfaces != ["lo"]:
        _fail(f"{container} has {interfaces}, not only lo")
    routes = lab.exec(container, ["ip", "-4", "route"], timeout=5).expect_success()
    if routes.stdout:
        _fail(f"{container} has routes: {routes.stdout}")
    networks = lab.get_container(container).attrs["NetworkSettings"]["Networks"] or {}
    if list(networks) != ["none"] or networks["none"].get("IPAddress"):
        _fail(f"Docker lists {container} on {networks}, not on 'none' without an address")
    return table


def no_route(result):
    """Section 1: asking the kernel for a route to another container's address fails with
    "Network is unreachable". ``result`` is ``ip route get ADDRESS`` run in the container."""
    result = probe.heard(result)
    if result.ok or "Network is unreachable" not in result.output:
        _fail(f"expected 'Network is unreachable' from {result.source}, got "
              f"(exit {result.exit_code}) {result.output[:200]!r}")
    return result


def shares_namespace(table, first: str, second: str):
    """Sections 2 and 4: ``first`` and ``second`` are in one network namespace and list
    the same interfaces with the same addresses. Returns ``table``."""
    columns = ["netns", "interface", "ipv4", "mac"]
    one, two = (_rows(table, name)[columns].reset_index(drop=True) for name in (first, second))
    if not one.equals(two):
        _fail(f"{first} and {second} do not share one network namespace:\n"
              f"{one.to_string()}\n---\n{two.to_string()}")
    return table


def left_behind(lab, table, target: str, sidecar: str):
    """Section 4: after ``target`` restarted, ``sidecar`` is still in the old namespace,
    which holds only ``lo`` now, while Docker's record of it did not change. Returns
    ``table``."""
    mine, theirs = (_rows(table, name) for name in (sidecar, target))
    if set(mine["netns"]) & set(theirs["netns"]):
        _fail(f"{sidecar} is still in {target}'s namespace: was {target} restarted?")
    if mine["interface"].tolist() != ["lo"]:
        _fail(f"{sidecar}'s old namespace holds {mine['interface'].tolist()}, not only lo")
    mode = lab.get_container(sidecar).attrs["HostConfig"]["NetworkMode"]
    if mode != f"container:{lab.get_container(target).id}":
        _fail(f"Docker's record of {sidecar} changed: network mode {mode}")
    return table


def sees_sockets_not_processes(sockets, processes, port: int = TAKEN_PORT):
    """Section 3: the sidecar's ``ss -ltn`` lists the server's listener on ``port``, but
    its ``ps`` shows no server process: it shares the network namespace only."""
    sockets, processes = probe.heard(sockets), probe.heard(processes)
    if not re.search(rf"LISTEN\s.*:{port}\s", sockets.output):
        _fail(f"{sockets.source} sees no listener on port {port}:\n{sockets.output}")
    commands = [line.split()[-1] for line in processes.output.splitlines()[1:] if line.split()]
    if "python3" in commands:
        _fail(f"{processes.source} sees a python3 process: {commands}")


def capture_holds(lab, packets, client: str, server: str, port: int = TAKEN_PORT):
    """Section 3: tcpdump in the sidecar caught ``client``'s packets to ``server``'s address
    and port, and the answers. Returns ``packets``."""
    to_server = f"{lab.ip(client)}." + r"\d+ > " + re.escape(f"{lab.ip(server)}.{port}:")
    back = re.escape(f"{lab.ip(server)}.{port} > {lab.ip(client)}.")
    if not (re.search(to_server, packets.stdout) and re.search(back, packets.stdout)):
        _fail(f"the capture in {packets.source} shows no {client} -> {server}:{port} "
              f"exchange:\n{packets.output[:800]}")
    return packets


def _refused(lab, what: str, command: str, attempt) -> None:
    """Run ``attempt``; print Docker's refusal the way the CLI would, or raise."""
    try:
        made = attempt()
    except docker.errors.APIError as exc:
        said = exc.explanation if isinstance(exc.explanation, str) else str(exc)
        print(f"$ {command}\nError response from daemon: {said}")
        return
    if made:  # it was created: remove it, the lesson says Docker refuses this
        lab.client.api.remove_container(made["Id"], force=True)
    _fail(f"Docker accepted {what}")


def docker_refuses_publishing(lab, target: str = TARGET) -> None:
    """Section 2: Docker refuses to publish ports on a container that joins ``target``'s
    namespace (``-P`` here; ``-p``, ``--hostname``, ``--dns`` and ``--add-host`` alike).

    Asks the daemon directly, as ``docker run -P --network container:TARGET`` would,
    with the lab's labels (so cleanup would find it if Docker accepted), and prints
    Docker's answer.
    """
    joined = lab.get_container(target)
    api = lab.client.api
    host_config = api.create_host_config(network_mode=f"container:{joined.id}",
                                         publish_all_ports=True)
    _refused(lab, f"published ports on a container in {target}'s namespace",
             f"docker run -d -P --network container:{target} {lab.image}",
             lambda: api.create_container(
                 lab.image, name=lab.name("refused"), host_config=host_config,
                 labels=lab_labels(lab.learner, lab.lesson, lab.session, "refused")))


def docker_refuses_to_join(lab, sidecar: str = "debug", target: str = TARGET) -> None:
    """Section 4: while ``target`` is stopped, Docker cannot (re)start ``sidecar``: there
    is no namespace to join. Prints Docker's answer to ``docker restart SIDECAR``."""
    if lab.get_container(target).status == "running":
        raise LabError(f"{target} is running: stop it first (the cell above).")
    sidecar_id = lab.get_container(sidecar).id
    _refused(lab, f"a restart of {sidecar} while {target} is stopped",
             f"docker restart {sidecar}",
             lambda: lab.client.api.restart(sidecar_id, timeout=1))


# -- exercises ------------------------------------------------------------------------------


def _port_of(container) -> int | None:
    env = dict(item.split("=", 1) for item in container.attrs["Config"].get("Env") or []
               if "=" in item)
    return int(env["PORT"]) if env.get("PORT", "").isdigit() else None


def second_server(lab, prediction) -> CheckResult:
    """Exercise 1: the learner predicted what happens to a second hello server in
    ``app``'s namespace on port 8000, then ran ``web2`` there on another port, and
    ``app`` reaches it on ``localhost``.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        prediction (str): the letter of the learner's prediction.
    """
    wrong = choice(prediction, SECOND_SERVER_REASONS, SECOND_SERVER_RIGHT)
    if wrong is not None:
        return wrong
    app, web2 = container_or_none(lab, TARGET), container_or_none(lab, SECOND_SERVER)
    if app is None or app.status != "running":
        return CheckResult(False, "app is not running: re-run the cells of sections 1 to 4.")
    if web2 is None:
        return CheckResult(False, f"Right prediction. Now start {SECOND_SERVER} in app's "
                                  "namespace on a port that is free there (lab.hello_server "
                                  "takes network= and port=).")
    port = _port_of(web2)
    joined = web2.attrs["HostConfig"]["NetworkMode"] == f"container:{app.id}"
    first = verdict([
        (joined, f"{SECOND_SERVER} has its own network ({web2.attrs['HostConfig']['NetworkMode']}"
                 "): it must join app's namespace (network='container:app')."),
        (port not in (None, TAKEN_PORT), f"{SECOND_SERVER} listens on port {port}: app's "
                                         f"namespace has {TAKEN_PORT} taken already."),
        (web2.status == "running", f"{SECOND_SERVER} is {web2.status}: re-run its cell."),
    ])
    if not first:
        return first
    answer = lab.curl(TARGET, f"http://localhost:{port}", timeout=2)
    return verdict([
        (answer.ok, f"app cannot reach localhost:{port}: {answer.output[:200]} (was app "
                    "restarted after web2 joined it? Then web2 is in the old namespace.)"),
    ], praise=f"app reaches {SECOND_SERVER} on localhost:{port}: one namespace, two servers, "
              "two ports.")


def parse_sidecar_prediction(prediction) -> dict | str:
    """The learner's ``{item: True/False}`` for :data:`SIDECAR_ITEMS`, or a hint (str).

    >>> parse_sidecar_prediction({"has_eth0": False, "reaches_app": "no"})  # doctest: +ELLIPSIS
    'Your prediction has no True or False for reaches_app, in_loners_namespace, ...'
    """
    if not isinstance(prediction, dict):
        return "Set `prediction` to a dict {item: True or False} for the four items of the task."
    missing = [item for item in SIDECAR_ITEMS if not isinstance(prediction.get(item), bool)]
    if missing:
        return f"Your prediction has no True or False for {', '.join(missing)}."
    return {item: prediction[item] for item in SIDECAR_ITEMS}


def sidecar_of_none(lab) -> dict:
    """What ``debug2``, joined to ``loner``'s namespace, really has: ``{item: bool}``."""
    links = namespaces.links_of(lab, SIDECAR_OF_NONE)
    reached = lab.curl(SIDECAR_OF_NONE, f"http://{lab.ip(TARGET)}:{TAKEN_PORT}", timeout=1)
    hostnames = [namespaces.exec_heard(lab, name, ["hostname"]).expect_success().stdout
                 for name in (SIDECAR_OF_NONE, NONE_CONTAINER)]
    return {"has_eth0": any(link.get("ifname") == "eth0" for link in links),
            "reaches_app": reached.ok,
            "in_loners_namespace": namespaces.shares_network_namespace(lab, SIDECAR_OF_NONE,
                                                                       NONE_CONTAINER),
            "hostname_is_loner": hostnames[0] == hostnames[1]}


def none_sidecar_prediction(lab, prediction) -> CheckResult:
    """Exercise 2: the learner's prediction of what a sidecar of the ``none`` container
    gets matches what ``debug2`` really has, once it runs.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        prediction (dict): ``{item: bool}`` for each of :data:`SIDECAR_ITEMS`.
    """
    predicted = parse_sidecar_prediction(prediction)
    if isinstance(predicted, str):
        return CheckResult(False, predicted)
    for name in (TARGET, NONE_CONTAINER):
        container = container_or_none(lab, name)
        if container is None or container.status != "running":
            return CheckResult(False, f"{name} is not running: re-run sections 1 to 4 first.")
    joined = container_or_none(lab, SIDECAR_OF_NONE)
    if joined is None or joined.status != "running":
        return CheckResult(False, f"Prediction stored. Now start {SIDECAR_OF_NONE} in "
                                  f"{NONE_CONTAINER}'s namespace (namespaces.sidecar), then "
                                  "check again.")
    truth = sidecar_of_none(lab)
    wrong = [item for item in SIDECAR_ITEMS if predicted[item] != truth[item]]
    return verdict([
        (not wrong, f"{len(wrong)} of {len(SIDECAR_ITEMS)} answers differ from what "
                    f"{SIDECAR_OF_NONE} really has. For each, ask what {NONE_CONTAINER}'s "
                    "namespace holds (section 1) and what joining a namespace gives a "
                    "container (section 2); then look with lab.exec."),
    ], praise=f"All four right: {SIDECAR_OF_NONE} has exactly what {NONE_CONTAINER} has, which "
              "is lo and a hostname.")

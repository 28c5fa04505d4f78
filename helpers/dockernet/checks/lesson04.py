"""Self-checks and claims for lesson 04 (the old ways: ``--link``, ``/etc/hosts``).

The claims check what a section says on whatever engine runs it: each returns what it
was given (so a cell can show it) and raises :class:`~dockernet.ExpectationFailed` with
the reason when the engine disagrees. Where the engine's version decides (link variables
are gone from Docker 29), the claim reads the version and expects what that version does.
The exercises' self-checks read live state and return a :class:`~dockernet.checks.CheckResult`
that hints, never tells.

>>> from dockernet.checks import lesson04
>>> lesson04.edit_explained(lab, None)                    # doctest: +ELLIPSIS
CheckResult(passed=False, hint="Set `why` to the letter ...")
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .. import legacy
from ..errors import LabError
from ..naming import BUILTIN_NETWORKS
from . import CheckResult, container_or_none, fail, verdict

#: Exercise 1: the new linking container, its alias, and the names to predict from each side.
READER, READER_ALIAS = "reader", "api"
QUESTIONS = {READER: ("api", "db", "helloworld", "web"), "web": (READER,),
             "helloworld": (READER,)}
#: Exercise 2: the container that reaches helloworld as ``db`` without a link.
REPLACEMENT = "web2"
#: Exercise 3: the name to keep, and the reasons to choose from.
STICKY_NAME = "hello.local"
EDIT_REASONS = {
    "a": "The default bridge has no DNS server of Docker's (lesson 01), and your edit worked "
         "until the restart. What happens to /etc/hosts when a container starts?",
    "c": "Files written elsewhere in a container survive a restart (try /tmp). What makes "
         "/etc/hosts different? Section 7 printed where it really lives.",
    "d": "getent reads /etc/hosts at every lookup: the edit worked at once, before the restart.",
}
EDIT_RIGHT = "b"


_fail = fail


def _sets_link_env(lab) -> bool:
    return legacy.sets_link_env(lab.client.version().get("Version"))


def _link_line(table, target: str, alias: str):
    rows = table[table["written by"] == f"Docker: --link {target}:{alias}"]
    if rows.empty:
        _fail(f"no line of /etc/hosts was written for --link {target}:{alias}:\n"
              f"{table.to_string()}")
    return rows.iloc[0]


def _address(env, column: str, alias: str, port: int = 8000):
    return env[column].get(f"{legacy.env_prefix(alias)}PORT_{port}_TCP_ADDR")


def _no_variables_on_29(lab, env) -> bool:
    """True when this engine sets no link variables (and ``env`` has none, as it must)."""
    if _sets_link_env(lab):
        return False
    if len(env):
        _fail(f"this engine ({lab.client.version().get('Version')}) still set link variables: "
              f"its daemon must run with {legacy.KEEP_LINK_ENV}=1, the way back to the old "
              "behaviour until Docker 30.")
    return True


# -- claims ---------------------------------------------------------------------------------


def link_line_holds(lab, table, target: str = "helloworld", alias: str = "db"):
    """Section 1: ``--link TARGET:ALIAS`` wrote one line into the linking container's
    ``/etc/hosts``: the target's address, then the alias, its hostname and its real name.
    Returns ``table`` (of :func:`dockernet.legacy.hosts`)."""
    line = _link_line(table, target, alias)
    server = lab.get_container(target)
    expected = [alias, server.attrs["Config"]["Hostname"], server.name]
    if line["address"] != lab.ip(target) or list(line["names"]) != expected:
        _fail(f"the link line reads {line['address']} {' '.join(line['names'])}, not "
              f"{lab.ip(target)} {' '.join(expected)}")
    return table


def link_env_holds(lab, env, target: str = "helloworld", alias: str = "db"):
    """Section 2: before Docker 29 the link set the target's address, its name for the
    link and its environment in variables; from 29 it sets none. Returns ``env``
    (of :func:`dockernet.legacy.link_env`)."""
    if _no_variables_on_29(lab, env):
        return env
    prefix = legacy.env_prefix(alias)
    server = lab.get_container(target)
    message = dict(item.split("=", 1) for item in server.attrs["Config"]["Env"]).get("MESSAGE")
    for column in (legacy.PROGRAM, legacy.EXEC):
        got = env[column]
        if _address(env, column, alias) != lab.ip(target):
            _fail(f"{column}: {prefix}PORT_8000_TCP_ADDR is {_address(env, column, alias)}, "
                  f"not {target}'s address {lab.ip(target)}")
        if not str(got.get(f"{prefix}NAME", "")).endswith(f"/{alias}") or \
                got.get(f"{prefix}ENV_MESSAGE") != message:
            _fail(f"{column}: {prefix}NAME or {prefix}ENV_MESSAGE is missing:\n{env}")
    return env


def link_is_one_way(matrix, linker: str = "web", target: str = "helloworld"):
    """Section 3: by name, ``linker`` reaches ``target`` and not the other way round.
    Returns ``matrix`` (of ``lab.reachability(..., by="name")``)."""
    if not matrix.loc[linker, target]:
        _fail(f"{linker} does not reach {target} by name, although it links to it:\n{matrix}")
    if matrix.loc[target, linker]:
        _fail(f"{target} reaches {linker} by name: a link should work one way only:\n{matrix}")
    return matrix


def exec_refused(result):
    """Sections 4 and 6: Docker refused to run a command in the linking container, because
    the link's target is not running. Returns ``result``."""
    if result.ok or legacy.NOT_RUNNING not in result.output:
        _fail(f"expected Docker to refuse the exec with {legacy.NOT_RUNNING!r}; got: "
              f"{result.output[:300]!r}")
    return result


def hosts_follow_the_target(lab, table, moved, target: str = "helloworld", alias: str = "db"):
    """Section 4: after ``target`` came back at another address (``moved``, of
    :func:`dockernet.legacy.start_elsewhere`), the link line holds the new one."""
    line = _link_line(table, target, alias)
    old, new = moved.attrs["old"], moved.attrs["new"]
    if old == new or new != lab.ip(target):
        _fail(f"{target} did not move: it was at {old} and is at {lab.ip(target)}")
    if line["address"] != new:
        _fail(f"the link line still says {line['address']}, not {target}'s new address {new}")
    return table


def variables_stay_behind(lab, env, moved, alias: str = "db"):
    """Section 4: before Docker 29, the program's link variables keep the address the
    target had when the program started; each new ``docker exec`` gets the new one."""
    if _no_variables_on_29(lab, env):
        return env
    program, fresh = _address(env, legacy.PROGRAM, alias), _address(env, legacy.EXEC, alias)
    if program != moved.attrs["old"] or fresh != moved.attrs["new"]:
        _fail(f"the program's variable says {program} (expected the old {moved.attrs['old']}), "
              f"a new exec's says {fresh} (expected the new {moved.attrs['new']})")
    return env


def restart_refused(lab, answer, linker: str = "web"):
    """Section 5: ``docker restart LINKER`` failed because its link's target is another
    container now, and ``linker`` is left stopped. Returns ``answer``."""
    answer.expect_failure(contains=legacy.NOT_RUNNING)
    status = lab.get_container(linker).status
    if status == "running":
        _fail(f"{linker} is running, although Docker refused to restart it")
    return answer


def edit_gone(lab, container: str = "client", kept: str = "api", lost: str = STICKY_NAME):
    """Section 6: after a new start, ``container``'s ``/etc/hosts`` holds only what Docker
    wrote (``kept`` from ``--add-host`` among it), and the hand-written ``lost`` is gone.
    Returns the table of :func:`dockernet.legacy.hosts`."""
    table = legacy.hosts(lab, container)
    by_hand = table[table["written by"] == legacy.BY_HAND]
    if len(by_hand):
        _fail(f"{container}'s /etc/hosts still has lines nobody's option wrote:\n{by_hand}")
    if not any(kept in names for names in table["names"]):
        _fail(f"{kept} is gone from {container}'s /etc/hosts too:\n{table}")
    lab.lookup(container, kept).expect_success()
    lab.lookup(container, lost).expect_failure()
    return table


def both_ways(matrix):
    """Section 7: on a user-defined network every container reaches every other by name."""
    if not matrix.all().all():
        _fail(f"by name, every container of the network should reach every other:\n{matrix}")
    return matrix


def name_follows(lab, client: str = "front", server: str = "back", network: str = "my-net",
                 contains: str | None = None):
    """Section 7: ``server`` was created again; ``client``, untouched, resolves the name to
    the new container's address and gets its answer (``contains``)."""
    new = lab.ip(server, network)
    answer = lab.lookup(client, server).expect_success()
    if new not in answer.output.split():
        _fail(f"{client} resolves {server} to {answer.output!r}, not to its address {new}")
    return lab.curl(client, f"http://{server}:8000").expect_success(contains=contains)


def docker_refuses_link(lab, name: str = "stray", target: str = "back", alias: str = "db"):
    """Section 7: a container on the default bridge cannot link to ``target``, which is
    on a user-defined network only; Docker refuses it and nothing is left behind."""
    real = lab.get_container(target).name
    print(f"$ docker run -d --name {name} --link {target}:{alias} ...")
    try:
        lab.run(name, links=legacy.links(lab, {target: alias}))
    except LabError as refused:
        print("Error response from daemon:", str(refused).split("refused it: ", 1)[-1])
    else:
        lab.get_container(name).remove(force=True)
        _fail(f"Docker linked {name} to {real}, which is not on the default bridge")
    if container_or_none(lab, name) is not None:
        _fail(f"Docker refused the link but {name} is still there")


# -- exercises ------------------------------------------------------------------------------


def _lookups(lab) -> dict:
    pairs = [(source, name) for source, names in QUESTIONS.items() for name in names]
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        found = list(pool.map(lambda pair: lab.lookup(*pair, timeout=3).ok, pairs))
    return dict(zip(pairs, found))


def names_prediction(lab, prediction) -> CheckResult:
    """Exercise 1: ``prediction`` (``{from: {name: True/False}}`` for :data:`QUESTIONS`)
    agrees with what each container resolves, once ``reader`` links to helloworld as
    ``api``."""
    reader = container_or_none(lab, READER)
    if reader is None:
        return CheckResult(False, f"There is no container {READER!r} yet: start it with "
                                  "lab.run and a link to helloworld (legacy.links).")
    has = legacy.link_aliases(reader.attrs["HostConfig"].get("Links"))
    first = verdict([
        (has == {lab.get_container("helloworld").name: READER_ALIAS},
         f"{READER} links to {sorted(has.values()) or 'nothing'}: give it exactly one link, "
         f"to helloworld as {READER_ALIAS!r}."),
        (isinstance(prediction, dict) and all(
            isinstance(prediction.get(source), dict)
            and all(isinstance(prediction[source].get(name), bool) for name in names)
            for source, names in QUESTIONS.items()),
         "Set `prediction` to the dict of the task, with True or False for every name."),
    ])
    if not first:
        return first
    live = _lookups(lab)
    wrong = [(source, name) for (source, name), ok in live.items()
             if prediction[source][name] != ok]
    sources = ", ".join(dict.fromkeys(source for source, _ in wrong))
    return verdict([(not wrong, f"{len(wrong)} of {len(live)} guesses do not hold, from "
                                f"{sources}. Each container looks names up in its own "
                                "/etc/hosts first: who wrote which line into whose file?")],
                   praise="A link writes one line, into the linking container's file only: "
                          "its alias, the target's hostname and real name, nothing else.")


def link_replaced(lab) -> CheckResult:
    """Exercise 2: ``web2`` reaches helloworld as ``db`` and helloworld reaches ``web2``
    by name, with no link: a user-defined network they share, and an alias."""
    web2, server = container_or_none(lab, REPLACEMENT), container_or_none(lab, "helloworld")
    if web2 is None or server is None:
        return CheckResult(False, f"{REPLACEMENT} or helloworld does not exist yet: create "
                                  f"{REPLACEMENT} with lab.run (helloworld comes from section 5).")
    endpoints = web2.attrs["NetworkSettings"]["Networks"] or {}
    linked = web2.attrs["HostConfig"].get("Links") or any(e.get("Links") for e in endpoints.values())
    shared = [net for net in endpoints if net not in BUILTIN_NETWORKS
              and net in (server.attrs["NetworkSettings"]["Networks"] or {})]
    first = verdict([
        (not linked, f"{REPLACEMENT} still uses a link: the point is to do without one."),
        (bool(shared), f"{REPLACEMENT} and helloworld share no user-defined network: which "
                       "DNS server could answer for them?"),
    ])
    if not first:
        return first
    addresses = {server.attrs["NetworkSettings"]["Networks"][net]["IPAddress"] for net in shared}
    db = lab.lookup(web2, "db")
    names = verdict([
        (db.ok and set(db.output.split()) & addresses,
         f"From {REPLACEMENT}, 'db' does not resolve to helloworld on the network they share: "
         "a name that is not a container's own name is an alias, given per network "
         "(lab.connect(..., aliases=[...]))."),
        (lab.lookup(server, REPLACEMENT).ok,
         f"helloworld cannot resolve {REPLACEMENT!r}: is {REPLACEMENT} attached to that "
         "network with its name?"),
    ])
    if not names:
        return names
    return verdict([(lab.curl(web2, "http://db:8000").ok,
                     f"{REPLACEMENT} resolves db but curl fails.")],
                   praise=f"{REPLACEMENT} -> db and helloworld -> {REPLACEMENT}, both by name, "
                          "no link.")


def edit_explained(lab, why, container: str = "client") -> CheckResult:
    """Exercise 3: ``why`` is the right reason the hand edit vanished, and ``container``
    now gets ``hello.local`` (helloworld's address) from its own configuration."""
    letter = why.strip().lower() if isinstance(why, str) else None
    if letter not in ("a", "b", "c", "d"):
        return CheckResult(False, "Set `why` to the letter of the reason you choose: 'a', 'b', "
                                  "'c' or 'd'.")
    if letter != EDIT_RIGHT:
        return CheckResult(False, EDIT_REASONS[letter])
    box = container_or_none(lab, container)
    if box is None:
        return CheckResult(False, f"There is no {container!r}: run section 6 again.")
    extra = dict(legacy.parse_extra_host(entry) for entry in box.attrs["HostConfig"].get("ExtraHosts") or [])
    return verdict([
        (extra.get(STICKY_NAME) == lab.ip("helloworld"),
         f"{container}'s configuration does not give {STICKY_NAME} helloworld's address "
         f"({lab.ip('helloworld')}): which option of docker run writes a line at every start?"),
        (lab.lookup(box, STICKY_NAME).ok, f"{STICKY_NAME} is configured but does not resolve."),
    ], praise=f"{STICKY_NAME} is in {container}'s configuration now: Docker writes it again at "
              "every start.")

"""Firewall rules the lab adds on purpose, and how cleanup finds them again.

Lesson 03 shows why a host firewall's ``INPUT`` rule does not stop a published port
and a ``DOCKER-USER`` rule does, so it adds two DROP rules to the host's iptables
(through the host view, which has ``NET_ADMIN`` in the host's network namespace).
They are not Docker objects, so three things keep them safe on a shared host:

- every rule matches only its learner's traffic (the source is the learner's own
  outside-world address) and carries the comment ``dockernet <learner> <lesson>``;
- before the first rule, a **marker** is created: a labelled lab volume
  (``dn-<learner>-<NN>-fw-rules``) whose labels name the iptables flavour. Cleanup
  (``lab.cleanup()``, the reset in a lesson's first cell, ``python -m dockernet
  clean``) sees the marker, reads the rules back and deletes each rule that carries
  exactly this comment by its own text (``-D`` with the words ``iptables-save``
  printed), then checks that none is left; only then does the marker go;
- no rule is ever added on an engine whose backend is nftables: Docker 29's nftables
  backend has no ``DOCKER-USER`` chain, and the lesson explains instead;
- with iptables-legacy, every change rewrites a whole table, and two writers must take
  turns through the lock file ``/run/xtables.lock`` (``iptables -w``), which Docker uses
  too. A container has its own ``/run``, so the lab writes legacy rules from a helper
  (``fw-writer``) that mounts the host's lock file, and adds no rule where the host has
  none (``--mount`` refuses a missing source instead of creating it). iptables-nft
  needs no lock: nf_tables applies each change as a transaction.

Engines that do not run the lab's iptables (rootless, Docker Desktop) are refused
by :func:`dockernet.firewall.backend` before anything is made.
"""

from __future__ import annotations

import docker
import pandas as pd
from docker.types import Mount

from .. import hostview, probe
from ..errors import CleanupIncomplete, LabError
from ..naming import LEARNER, LESSON, ROLE, SHORT_NAME, docker_name, lab_labels, label_filters, owned_by
from .portrules import (
    LAB_CHAINS,
    LAB_RULE_COLUMNS,
    delete_argv,
    drop_rule_spec,
    lab_comment,
    parse_counted,
    with_comment,
)

#: The marker volume's short name, and the label that names the iptables flavour.
MARKER = "fw-rules"
FLAVOUR_LABEL = "dockernet.iptables"
FLAVOURS = ("iptables-nft", "iptables-legacy")
#: The one-shot helper cleanup starts when the lesson's host view is gone (or for legacy).
CLEANER = "fw-cleanup"
#: iptables-legacy's lock, shared with Docker's own iptables calls, and the helper that mounts it.
XTABLES_LOCK = "/run/xtables.lock"
LEGACY_WRITER = "fw-writer"
#: ``iptables -w``: wait for the lock this many seconds instead of failing at once.
WAIT = ["-w", "5"]
LEGACY_SETTINGS = {"network": "host", "cap_add": ["NET_ADMIN"],
                   "mounts": [Mount(XTABLES_LOCK, XTABLES_LOCK, type="bind")]}


def _flavour(lab) -> str:
    from . import backend  # the package imports this module: imported late

    name, _ = backend(lab)
    if name not in FLAVOURS:
        raise LabError(f"this engine's firewall backend is {name}: the lab adds rules only with "
                       "iptables. Docker 29's nftables backend has no DOCKER-USER chain; lesson 03 "
                       "explains what to do there instead.")
    return name


def _marker(lab, flavour: str):
    """Get or create this lesson's marker volume (before any rule exists)."""
    labels = lab_labels(lab.learner, lab.lesson, lab.session, MARKER)
    labels.update({ROLE: "tool", FLAVOUR_LABEL: flavour})
    # Docker hands back an existing volume of that name instead of failing: re-check it.
    marker = lab.client.volumes.create(docker_name(lab.learner, lab.lesson, MARKER), labels=labels)
    found = marker.attrs.get("Labels") or {}
    if not owned_by(found, lab.learner, lab.lesson) or found.get(SHORT_NAME) != MARKER:
        raise LabError(f"a volume named {marker.name} exists that the lab did not create; the lab "
                       "adds no rule. Remove it yourself, or set DOCKERNET_LEARNER to another id.")
    if found.get(FLAVOUR_LABEL) != flavour:
        raise LabError(f"this lesson's rules were added with {found.get(FLAVOUR_LABEL)}, but the "
                       f"engine now uses {flavour}: run lab.cleanup() first.")
    return marker


def writer(lab, flavour: str):
    """The container that changes the host's rules: the host view for iptables-nft, a
    helper sharing the host's lock file for iptables-legacy.

    Raises:
        LabError: iptables-legacy, and the host has no lock file to share.
    """
    if flavour != "iptables-legacy":
        return hostview.host_view(lab)
    try:
        return lab.run(LEGACY_WRITER, role="tool", **LEGACY_SETTINGS)
    except LabError as exc:
        raise LabError(f"this host's iptables-legacy keeps its lock at {XTABLES_LOCK}, which the "
                       f"lab cannot share here ({exc}); without it a rule the lab adds could "
                       "undo one Docker adds at the same moment, so the lab adds none.") from None


def _run(lab, flavour: str, *args: str) -> probe.ProbeResult:
    return probe.run(writer(lab, flavour), [flavour, *WAIT, *args], timeout=10)


def add_drop(lab, chain: str, source: str, destination: str, port: int) -> pd.DataFrame:
    """Insert a DROP rule at the top of ``chain`` for TCP from ``source`` to
    ``destination:port``, with this learner's comment (nothing happens if it is there).

    Callers make sure ``source`` is the learner's own (:func:`dockernet.published.drop_rule`
    takes it from the learner's outside world).

    Returns:
        pandas.DataFrame: this lesson's rules afterwards (:func:`lab_rules`).

    Raises:
        LabError: a chain other than ``INPUT`` or ``DOCKER-USER``, a malformed address or
            port (nothing is made), an nftables engine, or iptables refused the rule.
    """
    if chain not in LAB_CHAINS:
        raise LabError(f"chain {chain!r}: the lab adds rules to {' or '.join(LAB_CHAINS)} only.")
    spec = drop_rule_spec(source, destination, port, lab_comment(lab.learner, lab.lesson))
    flavour = _flavour(lab)
    _marker(lab, flavour)  # first the marker, so that cleanup always knows to look
    if not _run(lab, flavour, "-t", "filter", "-C", chain, *spec).ok:
        added = _run(lab, flavour, "-t", "filter", "-I", chain, "1", *spec)
        if not added.ok:
            raise LabError(f"{flavour} refused the rule (exit {added.exit_code}): "
                           f"{added.output[:300]}")
    return lab_rules(lab)


def _counted(run, flavour: str) -> list[dict]:
    result = run([f"{flavour}-save", "-c", "-t", "filter"])
    if not result.ok:
        raise LabError(f"reading the host's rules with {flavour}-save failed: {result.output[:300]}")
    return parse_counted(result.stdout)


def lab_rules(lab) -> pd.DataFrame:
    """This lesson's own rules on the host, with how many packets each has matched.

    Returns:
        pandas.DataFrame: ``chain``, ``rule`` (as ``iptables -S`` prints it) and
        ``packets``; empty when the lesson added none.
    """
    marker = _find_markers(lab.client, lab.learner, lab.lesson)
    if not marker:
        return pd.DataFrame(columns=LAB_RULE_COLUMNS)
    flavour = marker[0]["Labels"][FLAVOUR_LABEL]
    rows = with_comment(_counted(lambda argv: hostview.host_exec(lab, argv, timeout=10), flavour),
                        lab_comment(lab.learner, lab.lesson))
    return pd.DataFrame(rows, columns=LAB_RULE_COLUMNS)


# -- cleanup ----------------------------------------------------------------------------------


def _find_markers(client, learner: str | None, lesson: str | None) -> list[dict]:
    filters = {"label": [*label_filters(learner, lesson), f"{SHORT_NAME}={MARKER}"]}
    found = client.api.volumes(filters=filters).get("Volumes") or []
    return [v for v in found if owned_by(v.get("Labels"), learner, lesson)
            and (v.get("Labels") or {}).get(FLAVOUR_LABEL) in FLAVOURS]


def _runner(client, learner: str, lesson: str, flavour: str):
    """The lesson's running host view (or legacy writer), or a one-shot helper like it."""
    own = LEGACY_WRITER if flavour == "iptables-legacy" else hostview.HOST_VIEW
    legacy = {"mounts": LEGACY_SETTINGS["mounts"]} if flavour == "iptables-legacy" else {}
    return hostview.cleanup_runner(client, learner, lesson, CLEANER, own, **legacy)


def remove_marked(client, learner: str | None = None, lesson: str | None = None) -> list[str]:
    """Delete the rules the lab added for ``learner`` and ``lesson`` (``None``: all), found
    through their markers; the markers themselves stay for the volume cleanup.

    Returns:
        list of str: the rules deleted, as ``iptables -S`` printed them.

    Raises:
        CleanupIncomplete: a rule with the lab's comment is still there afterwards, or the
            host could not be read (the markers stay, so the next cleanup tries again).
    """
    removed = []
    for marker in _find_markers(client, learner, lesson):
        labels = marker["Labels"]
        who, which, flavour = labels[LEARNER], labels[LESSON], labels[FLAVOUR_LABEL]
        comment = lab_comment(who, which)
        try:
            runner = _runner(client, who, which, flavour)
        except docker.errors.DockerException as exc:
            raise CleanupIncomplete(f"could not start a helper to remove the firewall rules of "
                                    f"{who}/{which} ({exc}); they stay on the host. Make sure the "
                                    "lab image is present (`python -m dockernet image`) and run "
                                    "the cleanup again.") from None

        def run(argv, runner=runner):
            return probe.run(runner, argv, timeout=10)

        try:
            for row in with_comment(_counted(run, flavour), comment):
                result = run([flavour, *WAIT, *delete_argv(row)])
                if result.ok:
                    removed.append(row["rule"])
            left = with_comment(_counted(run, flavour), comment)
        except LabError as exc:
            raise CleanupIncomplete(f"could not read the host's rules to remove {who}/{which}'s: "
                                    f"{exc}") from None
        if left:
            raise CleanupIncomplete(f"these firewall rules of {who}/{which} are still on the host: "
                                    + "; ".join(r["rule"] for r in left) + ". Delete them with "
                                    f"`sudo {flavour} -D ...` (the same words after -A), then run "
                                    "the cleanup again.")
    return removed

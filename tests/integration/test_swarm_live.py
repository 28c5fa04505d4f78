"""Swarm mode on the real daemon: the lab makes a swarm only where there is none, leaves its
own once nobody claims it, and never changes one it did not make.

Runs on whichever engine DOCKER_HOST names (CI runs it on both). Every test leaves the
daemon's swarm state as it found it.
"""

from __future__ import annotations

import threading
import uuid

import dockernet as dn
import pytest
from dockernet import overlay, swarm

LESSON_ID = "09-overlay-one-host"


def swarm_facts(client) -> dict:
    info = client.info()["Swarm"]
    return {"state": info["LocalNodeState"], "node": info.get("NodeID"),
            "manager": info.get("ControlAvailable"),
            "swarm": (info.get("Cluster") or {}).get("ID"),
            "labels": swarm._spec_labels(client)}


def has_gwbridge(client) -> bool:
    return any(n["Name"] == swarm.GWBRIDGE for n in client.api.networks(names=[swarm.GWBRIDGE]))


def new_lab(client, learner=None):
    return dn.Lab(LESSON_ID, learner=learner or f"t{uuid.uuid4().hex[:8]}", client=client, quiet=True)


@pytest.fixture
def no_swarm(client, lab_image):
    """The daemon in no swarm, as most learners' daemons are (the lab's own swarm, which a
    running lesson of someone else holds, would make the test meaningless)."""
    facts = swarm_facts(client)
    if facts["state"] != "inactive":
        pytest.skip(f"the daemon is in a swarm already ({facts['state']}, labels "
                    f"{facts['labels']}): this test needs one in none")
    gwbridge_before = has_gwbridge(client)
    yield
    after = swarm_facts(client)
    assert after["state"] == "inactive" or swarm._claims(client), after
    assert has_gwbridge(client) == gwbridge_before or swarm._claims(client)


@pytest.fixture
def foreign_swarm(client, lab_image):
    """A swarm the lab did not make: initialised here when the daemon is in none (under the
    lab's lock, so no lesson inits one at the same moment), left again afterwards."""
    made_here = False
    gwbridge_before = has_gwbridge(client)
    with swarm.swarm_lock(client, "test", "foreign"):
        facts = swarm_facts(client)
        if facts["state"] == "inactive":
            client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
            made_here = True
        elif facts["labels"].get(swarm.MADE_LABEL) == swarm.MADE_VALUE:
            pytest.skip("the daemon is in the lab's own swarm (a lesson is running): no "
                        "foreign swarm can be made now")
    before = swarm_facts(client)
    yield before
    if not made_here:
        return
    with swarm.swarm_lock(client, "test", "foreign"):
        if swarm_facts(client)["swarm"] != before["swarm"]:
            return
        if swarm._claims(client):
            # A lesson joined this swarm meanwhile: hand it to the lab, whose last cleanup leaves it.
            spec = client.api.inspect_swarm()
            client.api.update_swarm(spec["Version"]["Index"], {
                **spec["Spec"], "Labels": {swarm.MADE_LABEL: swarm.MADE_VALUE,
                                           swarm.GWBRIDGE_LABEL: "found" if gwbridge_before else "made"}})
            return
        client.swarm.leave(force=True)
        if not gwbridge_before:
            swarm._remove_gwbridge(client)


def test_a_swarm_that_existed_before_the_lessons_is_untouched_afterwards(client, foreign_swarm):
    lab = new_lab(client)
    joined = swarm.join_or_create(lab)
    assert joined.usable and not joined.made_by_lab and joined.swarm_id == foreign_swarm["swarm"]
    lab.network("over-net", driver="overlay", attachable=True)
    lab.run("client", network="over-net")
    overlay.service(lab, "web", "over-net", replicas=2)
    lab.cleanup()  # the lesson's cleanup: services, containers, network, claim, then after_cleanup
    assert swarm.after_cleanup(client, None, None) is False  # `python -m dockernet clean` too
    after = swarm_facts(client)
    assert {k: after[k] for k in ("state", "node", "manager", "swarm", "labels")} == \
        {k: foreign_swarm[k] for k in ("state", "node", "manager", "swarm", "labels")}
    assert not swarm.lab_services(client, lab.learner)


def test_the_lab_makes_a_swarm_only_where_there_is_none_and_the_last_cleanup_leaves_it(client, no_swarm):
    first, second = new_lab(client), new_lab(client)
    made = swarm.join_or_create(first)
    assert made.made_by_lab and made.node_address == swarm.ADVERTISE_ADDR and made.manager
    again = swarm.join_or_create(second)
    assert again.swarm_id == made.swarm_id and again.claims >= 2  # joined, not re-initialised
    second.network("over-net", driver="overlay", attachable=True)
    second.run("client", network="over-net")
    first.cleanup()
    assert swarm_facts(client)["swarm"] == made.swarm_id, "a claim is left: the swarm stays"
    second.cleanup()
    assert swarm_facts(client)["state"] == "inactive" or swarm._claims(client)


def test_a_lessons_reset_removes_its_services_before_the_networks(client, no_swarm):
    lab = new_lab(client)
    swarm.join_or_create(lab)
    lab.network("over-net", driver="overlay", attachable=True)
    web = overlay.service(lab, "web", "over-net", replicas=2)
    rr = overlay.service(lab, "web-rr", "over-net", endpoint_mode="dnsrr", replicas=2)
    fresh = new_lab(client, lab.learner)  # the first cell of a re-run: reset with services present
    assert not swarm.lab_services(client, lab.learner) and not fresh.networks()
    for service in (web, rr):
        assert not client.containers.list(all=True, filters={
            "label": f"{swarm.SWARM_SERVICE_LABEL}={service.id}"})


def test_one_learner_leaving_while_another_joins_never_breaks_the_joiner(client, no_swarm):
    errors: list[BaseException] = []

    def leaver():
        lab = new_lab(client)
        for _ in range(4):
            swarm.join_or_create(lab)
            lab.cleanup()

    def joiner():
        lab = new_lab(client)
        for _ in range(4):
            status = swarm.join_or_create(lab)
            assert status.state == "active" and status.manager
            lab.network("over-net", driver="overlay", attachable=True)
            lab.run("client", network="over-net")   # needs the swarm to be there still
            lab.cleanup()

    def guarded(work):
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(work,)) for work in (leaver, joiner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors


def test_a_service_on_a_bridge_or_with_bad_arguments_is_refused_and_nothing_is_made(client, foreign_swarm):
    lab = new_lab(client)
    swarm.join_or_create(lab)
    lab.network("plain-net")
    with pytest.raises(dn.LabError, match="services need an overlay"):
        overlay.service(lab, "web", "plain-net")
    lab.network("over-net", driver="overlay", attachable=True)
    for bad in ({"replicas": 0}, {"replicas": 50}, {"endpoint_mode": "dns"}):
        with pytest.raises(dn.LabError):
            overlay.service(lab, "web", "over-net", **bad)
    assert not swarm.lab_services(client, lab.learner)
    lab.cleanup()


def test_an_overlay_has_a_vni_its_container_two_interfaces_and_a_smaller_mtu(client, foreign_swarm):
    lab = new_lab(client)
    swarm.join_or_create(lab)
    lab.network("over-net", driver="overlay", attachable=True)
    lab.run("client", network="over-net")
    vni = swarm.overlay_vni(overlay.allocated(lab, "over-net"))
    assert isinstance(vni, int) and 0 < vni < 2 ** 24
    table = overlay.interfaces(lab, "client").set_index("Docker network")
    assert table.loc["over-net", "MTU"] == 1450
    assert table.loc[swarm.GWBRIDGE, "MTU"] == 1500 and table.loc[swarm.GWBRIDGE, "default route"] == "yes"
    assert overlay.gwbridge(lab).iloc[0]["ICC (containers reach each other)"] == "false"
    lab.cleanup()


def test_replicas_answer_by_name_and_dnsrr_spreads_over_them(client, foreign_swarm):
    lab = new_lab(client)
    swarm.join_or_create(lab)
    lab.network("over-net", driver="overlay", attachable=True)
    lab.run("client", network="over-net")
    overlay.service(lab, "web", "over-net", replicas=3)
    overlay.service(lab, "web-rr", "over-net", replicas=3, endpoint_mode="dnsrr")
    answers = overlay.dns_answers(lab, "client", ["web", "tasks.web", "web-rr"]).set_index("name")
    assert answers.loc["web", "which are"] == "VIP of web"
    assert sorted(answers.loc["tasks.web", "which are"].split(", ")) == ["web-1", "web-2", "web-3"]
    assert answers.loc["web-rr", "addresses"] == 3
    counts = overlay.spread(lab, "client", "http://web-rr:8000/", count=12)
    assert set(counts["replica"]) <= {"web-rr-1", "web-rr-2", "web-rr-3"}
    assert counts["answers"].sum() == 12
    vip = lab.curl("client", "http://web:8000/", timeout=2)
    assert vip.ok == overlay.ipvs_here(lab, "client"), vip.output  # no IPVS: the VIP is silent
    lab.cleanup()

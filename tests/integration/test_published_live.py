"""Published ports on the real daemon: the table, the rules, docker-proxy, client addresses,
and the firewall rules the lab adds (found and deleted by every cleanup, another learner's
never touched, nothing added on bad input).

Every test uses the ``learner`` fixture's fresh ids; rules are checked through a separate
observer lab's host view, which only reads.
"""

from __future__ import annotations

import dockernet as dn
import pytest
from dockernet import hostview, outside, ports, published
from dockernet.cleanup import lab_objects, remove_lab_objects
from dockernet.firewall import labrules
from dockernet.firewall.portrules import lab_comment

LESSON_ID = "94-published-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


@pytest.fixture
def observer(client, lab_image, other_learner):
    """Another learner's lab, whose host view reads the rules without owning them."""
    return dn.Lab(LESSON_ID, learner=other_learner, client=client, quiet=True)


def rules_with_comment(observer, comment: str) -> list[str]:
    flavour = dn.firewall.backend(observer)[0]
    saved = hostview.host_exec(observer, [f"{flavour}-save", "-t", "filter"]).expect_success()
    return [line for line in saved.stdout.splitlines() if f'"{comment}"' in line]


def needs_iptables(lab):
    if not published.can_add_rules(lab):
        pytest.skip("this engine's firewall backend is nftables: the lab adds no rule there")


def test_a_published_port_shows_its_binding_rules_proxy_and_clients(lab):
    port = ports.host_port(lab)
    lab.hello_server("web", ports={"8000/tcp": port})
    [row] = published.ports_table(lab).to_dict("records")
    assert (row["host_ip"], row["host_port"], row["container_ip"]) == \
        ("127.0.0.1", port, lab.ip("web"))
    does = list(published.port_rules(lab, "web").does)
    assert any(d.startswith(f"DNAT: a new connection to 127.0.0.1:{port} goes to "
                            f"{lab.ip('web')}:8000") for d in does), does
    proxies = published.proxies(lab)
    assert list(proxies.host_port) == [port] and list(proxies.container) == ["web"]
    hostview.host_exec(lab, ["curl", "-sS", f"http://127.0.0.1:{port}/"]).expect_success()
    gateway = lab.get_container("web").attrs["NetworkSettings"]["Networks"]["bridge"]["Gateway"]
    assert published.clients_seen(lab, "web").client.iloc[-1] == gateway


def test_a_container_without_ports_has_no_rules_to_show(lab):
    lab.run("quiet")
    with pytest.raises(dn.LabError, match="publishes no port"):
        published.port_rules(lab, "quiet")


def test_rules_match_only_the_learner_and_go_with_cleanup(lab, observer, client):
    needs_iptables(lab)
    world = outside.outside_world(lab)
    port = ports.host_port(lab)
    lab.hello_server("lan", ports={"8000/tcp": (world.host_address, port)})
    published.drop_rule(lab, world, "INPUT", world.host_address, port)
    published.drop_rule(lab, world, "DOCKER-USER", lab.ip("lan"), 8000)
    published.drop_rule(lab, world, "DOCKER-USER", lab.ip("lan"), 8000)  # a re-run adds nothing
    comment = lab_comment(lab.learner, LESSON_ID)
    mine = rules_with_comment(observer, comment)
    assert len(mine) == 2 and all(f"-s {world.address}/32" in rule for rule in mine), mine
    lab.curl("outside", f"http://{world.host_address}:{port}/", timeout=1).expect_failure()
    counted = published.lab_rules(lab).set_index("chain").packets
    assert counted["INPUT"] == 0 and counted["DOCKER-USER"] > 0, counted
    removed = lab.cleanup()
    assert labrules.MARKER in removed.volumes
    assert rules_with_comment(observer, comment) == []


def test_a_dead_kernels_rules_go_with_the_next_reset_even_without_its_host_view(
        lab, observer, client):
    needs_iptables(lab)
    world = outside.outside_world(lab)
    published.drop_rule(lab, world, "INPUT", world.host_address, ports.host_port(lab))
    comment = lab_comment(lab.learner, LESSON_ID)
    assert len(rules_with_comment(observer, comment)) == 1
    # The kernel died, and someone removed the host view by hand: the marker is all that is left.
    lab.get_container(hostview.HOST_VIEW).remove(force=True)
    dn.Lab(LESSON_ID, learner=lab.learner, client=client, quiet=True)  # the setup cell's reset
    assert rules_with_comment(observer, comment) == []
    assert not any(lab_objects(client, learner=lab.learner).values()), "the helper went too"


def test_clean_all_learners_removes_every_learners_rules(lab, observer, client):
    needs_iptables(lab)
    world = outside.outside_world(lab)
    published.drop_rule(lab, world, "INPUT", world.host_address, ports.host_port(lab))
    remove_lab_objects(client, learner=None, lesson=LESSON_ID)
    assert rules_with_comment(observer, lab_comment(lab.learner, LESSON_ID)) == []


def test_another_learners_cleanup_leaves_my_rules(lab, observer, client):
    needs_iptables(lab)
    world = outside.outside_world(lab)
    published.drop_rule(lab, world, "INPUT", world.host_address, ports.host_port(lab))
    observer.cleanup()
    assert len(rules_with_comment(observer, lab_comment(lab.learner, LESSON_ID))) == 1
    lab.cleanup()


@pytest.mark.parametrize("chain, destination, port, message", [
    ("OUTPUT", "host", 20000, "INPUT or DOCKER-USER only"),
    ("INPUT", "192.0.2.1", 20000, "only filters traffic to addresses it was given"),
    ("INPUT", "host", 70000, "not a port"),
])
def test_bad_input_adds_no_rule_and_no_marker(lab, observer, chain, destination, port, message):
    world = outside.outside_world(lab)
    target = world.host_address if destination == "host" else destination
    with pytest.raises(dn.LabError, match=message):
        published.drop_rule(lab, world, chain, target, port)
    assert not [v for v in lab_objects(lab.client, lab.learner)["volumes"]
                if v["Labels"].get("dockernet.name") == labrules.MARKER]
    assert rules_with_comment(observer, lab_comment(lab.learner, LESSON_ID)) == []


def test_legacy_rules_need_the_hosts_lock_file_or_none_are_added(lab, client):
    """iptables-legacy rewrites whole tables: the writer must share the host's lock file with
    Docker, and where the host has none (a host whose iptables is nft), nothing is started."""
    try:
        labrules.writer(lab, "iptables-legacy")
    except dn.LabError as exc:
        assert "adds none" in str(exc)
        assert labrules.LEGACY_WRITER not in [lab.short_name(c)
                                              for c in lab.containers(include_tools=True)]
    else:  # a legacy host: the writer sees the very lock Docker takes
        listing = lab.exec(labrules.LEGACY_WRITER, ["ls", "-l", labrules.XTABLES_LOCK])
        assert listing.ok, listing.output

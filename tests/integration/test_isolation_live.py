"""dockernet.isolation on the real daemon: internal networks, their DNS, ICC off, and a
DOCKER-USER rule in front of a published port.

Traffic goes only to containers these tests made and to the learner's own outside world
(whose route the host checks before every packet); the lab's DNS servers answer names
under ``outside.example`` and nothing is forwarded off the machine (every lab container's
own fallback DNS is 127.0.0.1). Each test has its own learner id (``learner`` fixture).
"""

import dockernet as dn
import pytest
from dockernet import isolation, outside, ports, published
from dockernet.checks import lesson11
from dockernet.errors import ExpectationFailed, LabError
from dockernet.probe import ProbeResult

LESSON_ID = "96-isolation-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


@pytest.fixture
def world(lab):
    return outside.outside_world(lab)


def test_an_internal_network_lets_neither_packets_nor_names_out(lab, world):
    lab.network("vault-net", internal=True)
    lab.run("vault", network="vault-net", dns=[world.address])
    lab.network("open-net")
    lab.run("open", network="open-net", dns=[world.address])
    isolation.dns_server(lab, "outside-dns", network="container:outside", answer=world.address)

    route = lab.exec("vault", "ip -4 route show default").stdout
    assert bool(route) is isolation.internal_default_route(lab.client.version()["Version"]), route
    world.curl("vault").expect_failure()
    assert world.curl("open").ok                          # the same world, from an ordinary net

    opened = lab.lookup("open", "www.outside.example")
    assert opened.ok and world.address in opened.output
    assert not lab.lookup("vault", "secret.outside.example").ok
    seen = isolation.queries_seen(lab, "outside-dns")
    assert "www.outside.example" in set(seen["name"])
    assert "secret.outside.example" not in set(seen["name"])
    assert set(seen["client"]) == {world.host_address}    # masqueraded, like any packet of open's
    lesson11.names_stay_inside(lab, world, opened, lab.lookup("vault", "secret.outside.example"))


def test_a_dns_server_on_the_internal_network_answers_as_this_engine_version_says(lab):
    lab.network("vault-net", internal=True)
    lab.run("vault", network="vault-net")
    server = isolation.dns_server(lab, "inside-dns", network="vault-net",
                                  answer=lab.ip("vault", "vault-net"))
    assert server.status == "running"
    lab.run("keeper", network="vault-net", dns=[lab.ip("inside-dns", "vault-net")])
    result = lab.lookup("keeper", "files.outside.example")
    expected = isolation.dns_forwarding(lab.client.version()["Version"])
    assert result.ok is expected["forwards to a DNS server on the internal network"], result
    asked = set(isolation.queries_seen(lab, "inside-dns")["name"])
    assert ("files.outside.example" in asked) is result.ok


def test_icc_off_drops_neighbours_and_keeps_the_way_out(lab, world):
    lab.network("quiet", options=isolation.ICC_OFF)
    lab.network("chatty")
    for name in ("n1", "n2"):
        lab.hello_server(name, network="quiet")
    lab.hello_server("c1", network="chatty")
    lab.run("c2", network="chatty")

    assert len(isolation.icc_rules(lab, "quiet")) == 1
    assert isolation.icc_rules(lab, "chatty").empty
    table = lesson11.icc_off_holds(lab, world)
    assert list(table["got through"]) == [False, False, True, True]
    lab.curl("c2", f"http://{lab.ip('c1', 'chatty')}:8000/").expect_success()   # ICC on: fine


def test_tiers_hold_by_name_and_by_address(lab):
    lab.network("front"), lab.network("back", internal=True)
    for name, network in (("web", "front"), ("api", "front"), ("db", "back")):
        lab.hello_server(name, network=network)
    lab.connect("api", "back")
    matrix = lab.reachability(lesson11.TIERS, port=8000, by="name")
    lesson11.tiers_hold(lab, matrix)
    assert not matrix.loc["web", "db"] and matrix.loc["api", "db"]
    lab.hello_server("cache", network="front")            # the wrong tier: the check says so
    assert not lesson11.cache_placed(lab).passed
    lab.hello_server("cache", network="back")
    assert lesson11.cache_placed(lab).passed


def test_a_docker_user_rule_keeps_the_outside_away_and_cleanup_removes_it(lab, world):
    lab.network("front")
    port = ports.host_port(lab)
    lab.hello_server("web", network="front", ports={"8000/tcp": (world.host_address, port)})
    url = f"http://{world.host_address}:{port}/"
    lab.curl("outside", url).expect_success(contains="Hello Docker!")
    if not published.can_add_rules(lab):                  # nftables: the lab adds nothing
        with pytest.raises(LabError):
            published.drop_rule(lab, world, "DOCKER-USER", lab.ip("web", "front"), 8000)
        lab.curl("outside", url).expect_success()
        return
    published.drop_rule(lab, world, "DOCKER-USER", lab.ip("web", "front"), 8000)
    rules = published.lab_rules(lab)
    assert list(rules["chain"]) == ["DOCKER-USER"]
    host = dn.hostview.host_exec(lab, ["curl", "-sS", url])
    lesson11.docker_user_limits(lab, lab.curl("outside", url, timeout=2), host)
    got_through = ProbeResult("outside", ["curl", url], exit_code=0, output="Hello Docker!")
    with pytest.raises(ExpectationFailed):                # the claim notices a rule that fails
        lesson11.docker_user_limits(lab, got_through, host)
    lab.cleanup()
    assert published.lab_rules(lab).empty


def test_a_dns_server_with_a_bad_answer_creates_nothing(lab):
    with pytest.raises(LabError, match="not an IPv4 address"):
        isolation.dns_server(lab, "bad-dns", network="bridge", answer="www.outside.example")
    assert lab.containers(include_tools=True) == []

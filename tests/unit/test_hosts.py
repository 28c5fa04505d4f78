"""dockernet.hosts's pure parts: the real-hosts configuration of ``Lab(hosts=[...])``,
the swarm ports table and the host-image choice rules."""

import dockernet as dn
import pytest
from dockernet import hosts
from dockernet.errors import LabError


def test_contexts_ssh_and_tcp_urls_are_accepted_in_order():
    parsed = hosts.parse_hosts(["node-a", "ssh://alice@node-b:2222", "tcp://10.0.0.5:2376"])
    assert [(h.kind, h.url) for h in parsed] == [
        ("context", None), ("ssh", "ssh://alice@node-b:2222"), ("tcp", "tcp://10.0.0.5:2376")]
    assert hosts.parse_hosts(("ssh://node-a", "ssh://node-b/"))[1].url == "ssh://node-b"


@pytest.mark.parametrize("entries, words", [
    ("ssh://node-a", "give a list"),
    (None, "give a list"),
    (["ssh://node-a"], "at least two"),
    ([], "at least two"),
    (["ssh://node-a", "http://node-b"], "http:// is not a remote engine"),
    (["ssh://node-a", "unix:///var/run/docker.sock"], "unix:// is not a remote engine"),
    (["ssh://node-a", "tcp://node-b"], "needs a port"),
    (["ssh://node-a", "tcp://bob@node-b:2376"], "tcp:// takes no user"),
    (["ssh://node-a", "ssh://node-b:99999"], "bad port"),
    (["ssh://node-a", "ssh://"], "no usable host name"),
    (["ssh://node-a", "ssh://node-b/var/run"], "no usable host name"),
    (["node a", "node-b"], "neither a context name nor a URL"),
    (["node-a", 7], "is not a host name"),
    (["node-a", "node-a"], "listed twice"),
])
def test_bad_configurations_give_one_clear_error(entries, words):
    with pytest.raises(LabError) as caught:
        hosts.parse_hosts(entries)
    assert words in str(caught.value)
    assert "ssh://" in str(caught.value)  # every message shows how to write it right


def test_every_bad_entry_is_named_in_one_message():
    with pytest.raises(LabError) as caught:
        hosts.parse_hosts(["ftp://a", "b c", "ssh://ok"])
    message = str(caught.value)
    assert "ftp://a" in message and "'b c'" in message and "ssh://ok" not in message.split(":")[0]


def test_lab_checks_its_hosts_before_it_connects(monkeypatch):
    # A bad configuration fails before the Lab finds a daemon or creates anything.
    monkeypatch.setattr("dockernet.lab.get_client", lambda: pytest.fail("connected anyway"))
    with pytest.raises(LabError, match="at least two"):
        dn.Lab("10-across-hosts", hosts=["ssh://alice@node-a"])


def test_swarm_ports_name_all_four_with_their_use():
    table = hosts.swarm_ports()
    assert table["port"].tolist() == ["2377/tcp", "7946/tcp", "7946/udp", "4789/udp"]
    assert "VXLAN" in table.set_index("port").loc["4789/udp", "carries"]


def test_the_limit_on_simulated_hosts_can_be_set(monkeypatch):
    monkeypatch.delenv(hosts.MAX_HOSTS_ENV, raising=False)
    assert hosts.max_hosts() == hosts.DEFAULT_MAX_HOSTS
    monkeypatch.setenv(hosts.MAX_HOSTS_ENV, "2")
    assert hosts.max_hosts() == 2
    monkeypatch.setenv(hosts.MAX_HOSTS_ENV, "many")
    assert hosts.max_hosts() == hosts.DEFAULT_MAX_HOSTS

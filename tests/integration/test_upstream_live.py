"""dockernet.upstream on the real daemon: a dnsmasq upstream, search domains, the footer,
``--dns 127.0.0.1`` and a resolver on a container's own loopback."""

import dockernet as dn
import pytest
from dockernet import upstream
from dockernet.errors import LabError

LESSON_ID = "97-upstream-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    lab.network("office-net")
    lab.hello_server("intranet", network="office-net", message="Hello from the intranet!")
    return lab


def test_the_embedded_dns_forwards_to_the_lab_server_from_the_container(lab):
    wiki = lab.ip("intranet", "office-net")
    upstream.dns_server(lab, "office-net", {"wiki": wiki})
    upstream.client(lab, "laptop", "office-net")
    assert lab.lookup("laptop", "wiki").output.split()[:2] == [wiki, "wiki.corp.example"]
    lab.curl("laptop", "http://wiki:8000").expect_success(contains="intranet")
    asked = upstream.queries(lab)
    laptop = lab.ip("laptop", "office-net")
    assert set(asked[asked["name"] == "wiki.corp.example"]["from"]) == {laptop}, asked
    conf = upstream.resolv_conf(lab, "laptop")
    assert conf["nameserver"] == ["127.0.0.11"] and conf["search"] == ["corp.example"]
    footer = upstream.has_footer(lab.client.version()["Version"])
    assert conf["ExtServers"] == ([lab.ip("dns", "office-net")] if footer else None), conf


def test_dns_127_is_the_containers_own_loopback(lab):
    lab.run("lonely", network="office-net")
    lab.lookup("lonely", "wiki.corp.example").expect_failure()
    records = {"wiki": lab.ip("intranet", "office-net")}
    upstream.loopback_resolver(lab, "lonely", records)
    upstream.loopback_resolver(lab, "lonely", records)      # again: the running one answers
    assert lab.lookup("lonely", "wiki.corp.example").output.split()[0] == records["wiki"]
    assert lab.get_container("lonely").attrs["HostConfig"]["Dns"] == ["127.0.0.1"]


def test_a_bad_record_starts_nothing(lab):
    with pytest.raises(LabError):
        upstream.dns_server(lab, "office-net", {"wiki": "not an address"})
    assert "dns" not in {lab.short_name(c) for c in lab.containers()}

"""Simulated Docker hosts on the real daemon: they start, form a swarm, carry curl across an
overlay whose VXLAN packets tcpdump sees, break when 4789 is dropped, and cleanup by label
removes them, their volumes and the underlay. Where this engine cannot run them (the Docker
28 test engine runs in a container), the refusal is checked instead: one LabError, nothing made."""

import dockernet as dn
import pytest
from dockernet import hosts, swarm, vxlan
from dockernet.cleanup import lab_objects
from dockernet.errors import LabError
from dockernet.naming import ROLE

LESSON_ID = "92-hosts-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    yield lab
    lab.cleanup()


def test_two_hosts_carry_curl_across_an_overlay_and_cleanup_removes_them(lab, client, learner):
    why_not = hosts.readiness(lab)
    if why_not is not None:
        assert "nested-host probe" in why_not or "dockerd" in why_not, why_not
        with pytest.raises(LabError):
            hosts.start(lab, progress=lambda line: None)
        assert not any(lab_objects(client, learner=learner).values())
        return
    lines = []
    host_a, host_b = hosts.start(lab, progress=lines.append)
    assert lines[-1].startswith("2 hosts ready in") and sum("loaded" in x for x in lines) == 2
    for host in (host_a, host_b):
        assert host.container.labels[ROLE] == hosts.ROLE_HOST
        assert host.docker(["info", "-f", "{{.Driver}}"]).stdout == "overlay2"
    nodes = hosts.form_swarm(host_a, [host_b])
    assert nodes["status"].tolist() == ["Ready", "Ready"]
    across = hosts.overlay(host_a, "across")
    hosts.hello_server(host_b, "web", "across", lab.image, "Hello from B")
    hosts.run_on(host_a, "client", "across", lab.image)
    for _ in range(10):  # a new container is known on the other host once gossip told it
        if hosts.curl(host_a, "client", "http://web:8000/").ok:
            break
    text = vxlan.capture(host_a, lab.image, lambda: hosts.curl(host_a, "client", "http://web:8000/"))
    packets = vxlan.packets(text)
    assert packets and {p.vni for p in packets} == {swarm.overlay_vni(across)}
    assert {p.outer_src for p in packets} == {host_a.address, host_b.address}
    assert packets[0].tcp_flags == "S" and packets[0].inner_dst.endswith(":8000")
    vxlan.block(host_b)
    assert hosts.curl(host_a, "client", "http://web:8000/", timeout=2).exit_code == 28
    vxlan.unblock(host_b)
    assert hosts.curl(host_a, "client", "http://web:8000/").output == "Hello from B"
    found = lab_objects(client, learner=learner)
    assert len(found["containers"]) == 2 and len(found["volumes"]) == 2
    lab.cleanup()
    assert not any(lab_objects(client, learner=learner).values())
    assert not hosts.running_hosts(client, learner)


def test_no_start_past_the_daemons_limit_and_nothing_is_made(lab, client, learner, monkeypatch):
    monkeypatch.setenv(hosts.MAX_HOSTS_ENV, "1")
    with pytest.raises(LabError, match=hosts.MAX_HOSTS_ENV):
        try:
            hosts.host_image(client)
        except LabError:  # no image with dockerd here: the limit is not reached at all
            monkeypatch.setattr(hosts, "host_image", lambda _client: "unused")
        hosts.start(lab, progress=lambda line: None)
    assert not any(lab_objects(client, learner=learner).values())
    why_not = hosts.readiness(lab)
    assert why_not is not None
    if hosts.nested_hosts_work(lab):  # then only the image or the limit can stand in the way
        assert "limit is 1" in why_not or "no image with dockerd" in why_not, why_not
    else:
        assert "nested-host probe" in why_not, why_not

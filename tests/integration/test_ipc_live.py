"""Volume IPC on the real daemon: two --network none containers exchange data through a file,
a FIFO and a Unix socket; every exchange is bounded; the volume is a lab object that cleanup
removes; bad input creates nothing."""

import dockernet as dn
import pytest
from dockernet import ipc
from dockernet.checks import lesson07

LESSON = "07-without-a-network"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON, learner=learner, client=client, quiet=True)


@pytest.fixture
def pair(lab):
    ipc.isolated(lab, "server", "shared")
    ipc.isolated(lab, "client", "shared")
    return lab


def test_two_isolated_containers_exchange_through_a_file_a_fifo_and_a_socket(pair):
    lab = pair
    lesson07.isolated_pair_holds(lab, ipc.volumes(lab))
    by_file = ipc.via_file(lab, "server", "client", "status: ready\nsecond line")
    by_fifo = ipc.via_fifo(lab, "client", "server", "hello through a pipe")
    ipc.serve(lab, "server")
    by_socket = ipc.via_socket(lab, "client", "server", "hello")
    assert [ex.ok for ex in (by_file, by_fifo, by_socket)] == [True] * 3, \
        [str(ex) for ex in (by_file, by_fifo, by_socket)]
    assert by_socket.received == "HELLO (answered by server)"
    lesson07.listing_holds(ipc.listing(lab, "client"))
    lesson07.socket_listed_only_in(lab, "server", "client")
    lesson07.not_a_file(lab.exec("client", "cat /shared/app.sock"))


def test_a_fifo_writer_waits_for_a_reader_until_its_timeout(pair):
    lab = pair
    lab.exec("server", "mkfifo /shared/pipe").expect_success()
    lesson07.writer_blocks(lab.exec("client", "echo hello > /shared/pipe", timeout=1))


def test_serving_twice_leaves_one_service_and_a_stopped_server_refuses(pair):
    lab = pair
    ipc.serve(lab, "server")
    ipc.serve(lab, "server")
    running = lab.exec("server", ["pgrep", "-c", "-f", "dockernet[ ]socket service"])
    assert running.stdout == "1", running.output
    assert not lesson07.stale_socket(lab, "b").passed            # server still runs
    lab.get_container("server").stop(timeout=2)
    assert lesson07.stale_socket(lab, "b").passed
    assert not lesson07.stale_socket(lab, "a").passed
    # A restarted server binds the path again: the stale socket file is replaced.
    lab.get_container("server").start()
    ipc.serve(lab, "server")
    assert ipc.via_socket(lab, "client", "server", "back").ok


def test_cleanup_removes_the_volume_and_what_is_on_it(pair, client):
    lab = pair
    ipc.via_file(lab, "server", "client", "keep me")
    shown = ipc.volumes(lab)
    assert shown["volume"].tolist() == ["shared"]
    assert (shown["learner"].iloc[0], shown["lesson"].iloc[0]) == (lab.learner, LESSON)
    labels = client.volumes.get(shown["docker_name"].iloc[0]).attrs["Labels"]
    assert labels["dockernet.learner"] == lab.learner and labels["dockernet.lesson"] == LESSON
    docker_name = shown["docker_name"].iloc[0]
    # A new container on the same volume still finds the file: volumes outlive containers.
    lab.get_container("client").remove(force=True)
    ipc.isolated(lab, "client", "shared")
    lab.exec("client", "cat /shared/message.txt").expect_success(contains="keep me")
    removed = lab.cleanup()
    lesson07.cleanup_removed_volume(lab, removed)
    assert docker_name not in [v.name for v in client.volumes.list()]


def test_the_auditor_exercise(pair):
    lab = pair
    ipc.via_file(lab, "server", "client", "status: ready")
    assert "no container" in lesson07.auditor(lab).hint
    ipc.isolated(lab, "auditor", "shared")
    assert "read-only" in lesson07.auditor(lab).hint
    ipc.isolated(lab, "auditor", "shared", read_only=True)
    assert lesson07.auditor(lab).passed


def test_bad_input_gives_one_clear_error_and_changes_nothing(pair):
    lab = pair
    ipc.isolated(lab, "other", "elsewhere")
    ipc.isolated(lab, "reader", "shared", read_only=True)
    lab.run("plain", network="none")
    with pytest.raises(dn.LabError, match="different volumes"):
        ipc.via_file(lab, "server", "other", "x")
    with pytest.raises(dn.LabError, match="no volume"):
        ipc.via_fifo(lab, "server", "plain", "x")
    with pytest.raises(dn.LabError, match="read-only"):
        ipc.via_file(lab, "reader", "client", "x")
    with pytest.raises(dn.LabError, match="read-only"):
        ipc.serve(lab, "reader")
    with pytest.raises(dn.LabError, match="no volume"):
        ipc.serve(lab, "plain")
    with pytest.raises(dn.UnknownObject):
        ipc.via_file(lab, "server", "nosuch", "x")
    with pytest.raises(dn.LabError, match="plain file name"):
        ipc.via_file(lab, "server", "client", "x", name="../etc/passwd")
    with pytest.raises(dn.LabError, match="one line"):
        ipc.via_socket(lab, "client", "server", "two\nlines")
    assert ipc.listing(lab, "server").empty

"""Finding the daemon and explaining failures: the resolution logic, no daemon needed."""

import json

import pytest
from docker.context.config import get_context_id
from dockernet import connect
from dockernet.errors import DockerUnavailable


@pytest.fixture
def cli_config(tmp_path, monkeypatch):
    """A docker CLI config folder with one context, 'colima', pointing at a missing socket."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    meta = tmp_path / "contexts" / "meta" / get_context_id("colima")
    meta.mkdir(parents=True)
    socket = tmp_path / "colima" / "docker.sock"
    (meta / "meta.json").write_text(json.dumps({
        "Name": "colima", "Metadata": {},
        "Endpoints": {"docker": {"Host": f"unix://{socket}", "SkipTLSVerify": False}}}))
    return socket


def test_docker_host_wins(cli_config):
    address = connect.find_daemon({"DOCKER_HOST": "tcp://127.0.0.1:2375"})
    assert (address.base_url, address.source) == ("tcp://127.0.0.1:2375", "DOCKER_HOST")


def test_current_context_is_used(cli_config):
    address = connect.find_daemon({})
    assert address.source == "context 'colima'"
    assert address.socket_path == str(cli_config)


def test_docker_context_variable_overrides_the_config(cli_config):
    assert connect.find_daemon({"DOCKER_CONTEXT": "default"}).source == "default socket"
    with pytest.raises(DockerUnavailable, match="docker context ls"):
        connect.find_daemon({"DOCKER_CONTEXT": "nope"})


def test_context_with_missing_socket_says_start_the_engine(cli_config):
    with pytest.raises(DockerUnavailable, match="context 'colima'.*not running"):
        connect.get_client({})


def test_missing_default_socket_says_install_or_start(tmp_path):
    with pytest.raises(DockerUnavailable, match="does not exist.*start"):
        connect.get_client({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})


def test_diagnosis_of_permission_and_refusal():
    address = connect.DaemonAddress("unix:///var/run/docker.sock", "default socket")
    denied = connect.diagnose(PermissionError(13, "Permission denied"), address)
    assert "docker group" in str(denied)
    refused = connect.diagnose(ConnectionRefusedError(111, "Connection refused"), address)
    assert "refused" in str(refused) and "start Docker" in str(refused)


def test_old_engines_are_refused_with_the_fix():
    assert connect.api_version_problem({"ApiVersion": "1.47", "Version": "27.5"}, "x") is None
    problem = connect.api_version_problem({"ApiVersion": "1.39", "Version": "18.09"}, "x")
    assert "1.41" in problem and "upgrade" in problem.lower()


def test_tls_settings_come_with_docker_host(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("not a real certificate")
    address = connect.find_daemon({"DOCKER_HOST": "tcp://127.0.0.1:2376",
                                   "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert address.base_url == "tcp://127.0.0.1:2376"
    assert address.tls.cert == (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))

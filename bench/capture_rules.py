"""Capture an engine's firewall rules as unit-test data for ``dockernet.firewall``.

    .venv/bin/python bench/capture_rules.py [DIR] [--learner ID]
    DOCKER_HOST=unix:///path/docker.sock .venv/bin/python bench/capture_rules.py

Against whatever daemon ``DOCKER_HOST`` (or the docker CLI's context) points to:

1. as lab objects of learner ``capture`` (``--learner``), lesson ``capture-rules``, it
   builds the situation every capture in ``tests/unit/data/engines/`` was taken in: a
   user-defined network ``user-net`` with a hello server ``web`` published on 127.0.0.1
   (a random port), an internal network ``internal-net`` with a container, and a
   container on the default bridge;
2. reads the host's rules through the lab's ``host-view`` container (host network,
   ``NET_ADMIN``, the lab image's iptables and nft): ``iptables-save`` of the flavour
   that holds Docker's chains (``iptables-nft-save``, empty, on the nftables backend),
   ``nft list ruleset`` and that flavour's ``--version``;
3. writes ``iptables-save.txt``, ``nft-list-ruleset.txt``, ``iptables-version.txt``
   (iptables backends only), ``docker-info.json`` (a few ``docker info`` fields),
   ``networks.json`` (each network's role, bridge and subnet: what the tests check) and
   ``published.json`` (``web``'s published port, whose rules the port-rule tests find) to
   DIR, by default ``tests/unit/data/engines/docker-<version>[-nftables]``;
4. removes everything it made, by label.

Other learners' rules on a shared daemon are captured too; the tests look only at the
networks in ``networks.json``. ``tests/unit/test_firewall.py`` tests every directory
there, so a new capture is tested without code changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import dockernet as dn
from dockernet import engines, firewall, hostview, published
from dockernet.addressing import ipv4_configs
from dockernet.cleanup import remove_lab_objects

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ROOT / "tests" / "unit" / "data" / "engines"
LESSON = "capture-rules"
INFO_KEYS = ("ServerVersion", "FirewallBackend", "Driver", "CgroupVersion", "KernelVersion",
             "OperatingSystem")


def build(lab) -> list[dict]:
    """The capture situation; returns ``networks.json``'s rows."""
    user_net = lab.network("user-net")
    internal_net = lab.network("internal-net", internal=True)
    lab.hello_server("web", network="user-net", ports={"8000/tcp": None})  # 127.0.0.1, any port
    lab.run("internal", network="internal-net")
    lab.run("on-bridge")
    default = lab.client.networks.get("bridge")
    rows = []
    for name, role, network in (("bridge", "default", default),
                                ("user-net", "user-defined", user_net),
                                ("internal-net", "internal", internal_net)):
        network.reload()
        subnets = [str(net) for net, _config in ipv4_configs(network.attrs)]
        rows.append({"name": name, "role": role,
                     "bridge": hostview.bridge_interface(network.attrs),
                     "subnet": subnets[0] if subnets else None,
                     "internal": bool(network.attrs.get("Internal"))})
    return rows


def published_binding(lab, networks: list[dict]) -> dict:
    """``published.json``: the binding of ``web``'s published port."""
    row = published.ports_table(lab, ["web"]).iloc[0]
    bridge = next(net["bridge"] for net in networks if net["name"] == "user-net")
    return {"network": "user-net", "bridge": bridge, "container_ip": row.container_ip,
            "container_port": int(row.container_port.split("/")[0]), "proto": "tcp",
            "host_ip": row.host_ip, "host_port": int(row.host_port)}


def read(lab) -> dict[str, str]:
    """The files of a capture, as text."""
    backend, _source = firewall.backend(lab)
    flavour = backend if backend in firewall.IPTABLES_FLAVOURS else "iptables-nft"
    files = {"iptables-save.txt": firewall.dump(lab, flavour),
             "nft-list-ruleset.txt": firewall.dump(lab, firewall.NFTABLES)}
    if backend != firewall.NFTABLES:
        files["iptables-version.txt"] = hostview.host_exec(lab, [flavour, "--version"]).stdout
    info = lab.client.info()
    files["docker-info.json"] = json.dumps({key: info[key] for key in INFO_KEYS if key in info},
                                           indent=1)
    return files


def default_folder(info: dict, backend: str) -> Path:
    version = engines.parse_version(info.get("ServerVersion")) or (0, 0, 0)
    suffix = "-nftables" if backend == firewall.NFTABLES else ""
    return ENGINES / f"docker-{'.'.join(map(str, version))}{suffix}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="where to write (default: "
                        "tests/unit/data/engines/docker-<version>[-nftables])")
    parser.add_argument("--learner", default="capture", help="the lab's learner id")
    args = parser.parse_args(argv)
    lab = dn.Lab(LESSON, learner=args.learner, quiet=True)
    try:
        networks = build(lab)
        files = read(lab)
        files["published.json"] = json.dumps(published_binding(lab, networks), indent=1)
        backend, source = firewall.backend(lab)
    finally:
        removed = remove_lab_objects(lab.client, learner=lab.learner, lesson=LESSON)
    folder = Path(args.folder) if args.folder else default_folder(lab.client.info(), backend)
    folder.mkdir(parents=True, exist_ok=True)
    files["networks.json"] = json.dumps(networks, indent=1)
    for name, text in files.items():
        (folder / name).write_text(text.rstrip("\n") + "\n" if text else "")
    print(f"{folder}: {', '.join(sorted(files))} (backend {backend}, from {source}); "
          f"cleanup: {removed.summary()}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except dn.DockernetError as exc:
        print(f"capture_rules: {exc}", file=sys.stderr)
        sys.exit(1)

"""The lab image recipe: one package list, a tag that follows the recipe, the host's mirror."""

from dockernet import image


def test_package_list_has_the_tools_the_lessons_use():
    packages = image.read_packages()
    for needed in ("curl", "iproute2", "iputils-ping", "bind9-dnsutils", "iperf3", "tcpdump",
                   "netcat-openbsd", "iptables", "nftables", "python3"):
        assert needed in packages
    assert "python3-minimal" not in packages  # it lacks http.server


def test_the_dockerfile_installs_the_same_list():
    assert "packages.txt" in (image.recipe_dir() / "Dockerfile").read_text()


def test_tag_follows_the_recipe(tmp_path, monkeypatch):
    tag = image.image_tag()
    assert tag.startswith("dockernet-lab:") and len(tag.split(":")[1]) == 12
    for name in ("packages.txt", "Dockerfile"):
        (tmp_path / name).write_bytes((image.recipe_dir() / name).read_bytes())
    monkeypatch.setenv("DOCKERNET_IMAGE_DIR", str(tmp_path))
    assert image.image_tag() == tag
    with open(tmp_path / "packages.txt", "a") as packages:
        packages.write("strace\n")
    assert image.image_tag() != tag


def test_mirror_comes_from_the_hosts_apt_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKERNET_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    assert image.debian_mirror(tmp_path) is None
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.test/debian\nSuites: bookworm\n")
    assert image.debian_mirror(tmp_path) == "http://mirror.example.test/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://apt-cache.example.test:3142/debian bookworm main\n")
    assert image.debian_mirror(tmp_path) == "http://apt-cache.example.test:3142/debian"
    monkeypatch.setenv("DOCKERNET_DEBIAN_MIRROR", "http://override.example.test/debian")
    assert image.debian_mirror(tmp_path) == "http://override.example.test/debian"

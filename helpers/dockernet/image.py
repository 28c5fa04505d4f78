"""The lab image: reuse it, build it, debootstrap it, or load it from a bundle.

One package list (``images/lab/packages.txt``) feeds every path, and the tag is a
hash of the recipe, so an image with the right tag is the right image. Nothing
is pulled without saying so first.

>>> from dockernet import image
>>> image.image_tag()                     # doctest: +ELLIPSIS
'dockernet-lab:...'
>>> image.ensure(client)                  # doctest: +ELLIPSIS
lab image dockernet-lab:... is present: reusing it
<Image: 'dockernet-lab:...'>
"""

from __future__ import annotations

import gzip
import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import docker

from .errors import ImageUnavailable

REPOSITORY = "dockernet-lab"
BASE_IMAGE = "debian:trixie-slim"
SUITE = "trixie"
#: Bump when the debootstrap recipe below changes in a way the files do not show.
RECIPE_VERSION = "1"
Progress = Callable[[str], None]


def recipe_dir() -> Path:
    """The folder with the Dockerfile and packages.txt (``DOCKERNET_IMAGE_DIR`` overrides)."""
    if os.environ.get("DOCKERNET_IMAGE_DIR"):
        return Path(os.environ["DOCKERNET_IMAGE_DIR"])
    here = Path(__file__).resolve().parents[2] / "images" / "lab"
    if not here.is_dir():
        raise ImageUnavailable(
            f"The lab image recipe is not at {here}. Fix: install dockernet from a clone of the "
            "course (`pip install -e .`) or set DOCKERNET_IMAGE_DIR to its images/lab folder."
        )
    return here


def read_packages(path: Path | None = None) -> list[str]:
    """The package names of packages.txt, comments and blanks dropped."""
    path = path or recipe_dir() / "packages.txt"
    names = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [name for name in names if name]


def image_tag() -> str:
    """``dockernet-lab:<hash of packages.txt, Dockerfile and recipe version>``."""
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    for name in ("packages.txt", "Dockerfile"):
        digest.update((recipe_dir() / name).read_bytes())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def find(client: docker.DockerClient, tag: str | None = None):
    """The lab image if the daemon has it, else ``None``."""
    try:
        return client.images.get(tag or image_tag())
    except docker.errors.ImageNotFound:
        return None


def ensure(client: docker.DockerClient, progress: Progress = print, allow_pull: bool = True):
    """Make sure the lab image is present, by the first path that works.

    Args:
        client: a docker SDK client.
        progress: called with one line of text per step.
        allow_pull: may the registry path pull ``debian:trixie-slim``.

    Returns:
        docker.models.images.Image: the lab image.

    Raises:
        ImageUnavailable: no path worked; the message lists what each said.
    """
    tag = image_tag()
    found = find(client, tag)
    if found is not None:
        progress(f"lab image {tag} is present: reusing it")
        return found
    reasons = []
    for path in (_build_path, _debootstrap_path):
        try:
            return path(client, tag, progress, allow_pull)
        except ImageUnavailable as exc:
            reasons.append(str(exc))
            progress(f"  not this way: {exc}")
    raise ImageUnavailable(
        f"The lab image {tag} is missing and could not be made here:\n- " + "\n- ".join(reasons)
        + "\nFix: ask your instructor for the image bundle and run "
        "`python -m dockernet image --load dockernet-lab.tar.gz`, or run `sudo make image` on a "
        "Linux host that reaches Debian's mirror."
    )


def _build_path(client, tag: str, progress: Progress, allow_pull: bool):
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        if not allow_pull:
            raise ImageUnavailable(f"{BASE_IMAGE} is not present and pulling is off") from None
        try:  # asks the daemon's registry for the manifest only: no layers move yet
            client.api.inspect_distribution(BASE_IMAGE)
        except docker.errors.APIError as exc:
            reason = getattr(exc, "explanation", None) or str(exc)
            raise ImageUnavailable(f"no registry answers for {BASE_IMAGE} ({reason[:160]})") from None
        progress(f"pulling {BASE_IMAGE} from the registry (about 30 MB) to build the lab image")
    return build_from_dockerfile(client, tag, progress)


def build_from_dockerfile(client, tag: str | None = None, progress: Progress = print):
    """``docker build`` images/lab, streaming the build's steps to ``progress``."""
    tag = tag or image_tag()
    progress(f"building {tag} from {recipe_dir() / 'Dockerfile'}")
    try:
        for chunk in client.api.build(path=str(recipe_dir()), tag=tag, rm=True, decode=True):
            if "error" in chunk:
                raise ImageUnavailable(f"docker build failed: {chunk['error'].strip()}")
            line = (chunk.get("stream") or chunk.get("status") or "").strip()
            if line.startswith("Step ") or chunk.get("status", "").startswith("Pulling"):
                progress("  " + line)
    except docker.errors.APIError as exc:
        raise ImageUnavailable(f"docker build failed: {exc.explanation or exc}") from None
    progress(f"built {tag}")
    return client.images.get(tag)


def _debootstrap_path(client, tag: str, progress: Progress, allow_pull: bool):
    if platform.system() != "Linux":
        raise ImageUnavailable("debootstrap needs a Linux host")
    if shutil.which("debootstrap") is None:
        raise ImageUnavailable("debootstrap is not installed (`sudo apt-get install debootstrap`)")
    if os.geteuid() != 0:
        raise ImageUnavailable("debootstrap needs root: run `sudo make image` once")
    return build_with_debootstrap(client, tag, progress)


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str | None:
    """The Debian mirror this host's apt uses (so a classroom's apt proxy is used too).

    ``DOCKERNET_DEBIAN_MIRROR`` wins; ``None`` lets debootstrap use its default.
    """
    if os.environ.get("DOCKERNET_DEBIAN_MIRROR"):
        return os.environ["DOCKERNET_DEBIAN_MIRROR"]
    texts = []
    for path in [sources_dir / "sources.list", *sorted(sources_dir.glob("sources.list.d/*"))]:
        if path.suffix in ("", ".list", ".sources") and path.is_file():
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        for match in re.finditer(r"(?:^deb\s+(?:\[[^\]]*\]\s+)?|^URIs:\s*)(\S+)", text, re.M):
            uri = match.group(1)
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return None


def build_with_debootstrap(client, tag: str | None = None, progress: Progress = print):
    """``debootstrap --variant=minbase`` the package list and ``docker import`` the tree."""
    tag = tag or image_tag()
    return debootstrap_image(client, tag, SUITE, read_packages(), progress,
                             changes=['CMD ["bash"]', 'LABEL dockernet.image="lab"'])


def debootstrap_image(client, tag: str, suite: str, packages: list[str], progress: Progress = print,
                      changes: list[str] | None = None, minutes: str = "about a minute"):
    """Build an image from Debian's mirror alone: debootstrap a minbase tree, import it.

    The lab image and the test engine (:mod:`dockernet.testengine`) are both made
    this way where no registry answers. Package caches and docs are left out.

    Args:
        client: a docker SDK client.
        tag (str): ``repository:version`` of the new image.
        suite (str): the Debian suite, e.g. ``"trixie"`` or ``"sid"``.
        packages (list): installed on top of minbase (``--include``).
        progress: called with one line per stage.
        changes (list): Dockerfile instructions for ``docker import`` (CMD, LABEL...).
        minutes (str): how long it takes, for the first progress line.

    Raises:
        ImageUnavailable: debootstrap, tar or the import failed (the message has the tail
            of debootstrap's log).
    """
    mirror = debian_mirror()
    progress(f"building {tag} with debootstrap ({suite}, {len(packages)} packages"
             f"{', mirror ' + mirror if mirror else ''}); this takes {minutes}")
    with tempfile.TemporaryDirectory(prefix="dockernet-rootfs-") as work:
        root = Path(work) / "root"
        command = ["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
                   suite, str(root)] + ([mirror] if mirror else [])
        _run_logged(command, progress)
        _trim_tree(root)
        archive = Path(work) / "rootfs.tar"
        packed = subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive),
                                 "."], capture_output=True, text=True)
        if packed.returncode != 0:
            raise ImageUnavailable(f"packing the tree failed: {packed.stderr.strip()[-300:]}")
        shutil.rmtree(root)  # the archive holds it all: do not keep two copies on disk
        progress(f"importing the tree ({archive.stat().st_size // 2**20} MB) as {tag}")
        repository, version = tag.split(":")
        try:
            client.api.import_image_from_file(
                str(archive), repository=repository, tag=version,
                changes=[*(changes or []),
                         "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        except docker.errors.APIError as exc:
            raise ImageUnavailable(f"docker import failed: {exc.explanation or exc}") from None
    progress(f"built {tag}")
    return client.images.get(tag)


def _run_logged(command: list[str], progress: Progress) -> None:
    # debootstrap prints a line per package; show the stages, not the hundreds of packages.
    quiet = ("I: Retrieving", "I: Validating", "I: Extracting", "I: Unpacking ", "I: Configuring ")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in process.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        if line.startswith("I: ") and not line.startswith(quiet):
            progress("  " + line[3:])
    if process.wait() != 0:
        raise ImageUnavailable("debootstrap failed:\n" + "\n".join(tail))


def _trim_tree(root: Path) -> None:
    # Package caches and docs are a third of the tree and no lesson reads them.
    for relative in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                     "usr/share/man", "usr/share/info"):
        target = root / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def save_bundle(client, path: str | Path, progress: Progress = print) -> Path:
    """Write the lab image as a gzipped ``docker save`` archive for offline classrooms."""
    tag = image_tag()
    found = find(client, tag)
    if found is None:
        raise ImageUnavailable(f"{tag} is not present: run `make image` first.")
    path = Path(path)
    partial = path.with_name(path.name + ".partial")  # a half-written bundle never looks done
    try:
        with gzip.open(partial, "wb", compresslevel=3) as out:
            for chunk in found.save(named=True):
                out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    progress(f"wrote {path} ({path.stat().st_size // 2**20} MB): load it on each machine with "
             f"`python -m dockernet image --load {path.name}`")
    return path


def load_bundle(client, path: str | Path, progress: Progress = print):
    """``docker load`` a bundle written by :func:`save_bundle` (gzip or plain tar)."""
    path = Path(path)
    if not path.is_file():
        raise ImageUnavailable(f"No bundle at {path}: check the path, or ask your instructor "
                               "for dockernet-lab.tar.gz.")
    progress(f"loading {path} ({path.stat().st_size // 2**20} MB)")
    with open(path, "rb") as data:  # the daemon unpacks gzip itself
        images = client.images.load(data)
    tags = [t for img in images for t in img.tags]
    progress("loaded " + ", ".join(tags))
    if image_tag() not in tags:
        progress(f"note: this bundle does not hold {image_tag()}, the tag this checkout expects; "
                 "ask for a bundle made from the same version of the course")
    return images

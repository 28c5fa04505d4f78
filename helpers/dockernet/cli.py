"""``python -m dockernet``: the course's command line (also installed as ``dockernet``).

    python -m dockernet doctor [--quiet | --json | --lessons]   is Docker usable? what can this host do?
    python -m dockernet clean [--learner ID | --all-learners] [--lesson ID]
    python -m dockernet image [--load FILE] [--no-pull]
    python -m dockernet bundle FILE
    python -m dockernet student-copy SRC DST
    python -m dockernet render [SRC] [DST]              every lesson executed, as HTML
    python -m dockernet test-engine build|start|stop [--purge]   contributors: Docker 28 for the tests

Every failure the course expects (no daemon, a bad bundle path, ...) prints one
paragraph with the fix and exits 1: never a Python traceback.

>>> main(["doctor", "--quiet"])          # doctest: +ELLIPSIS
Docker ... (API ...) at ... (via ...): ready; lab image dockernet-lab:... present
0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import docker

from . import capabilities, engines, image
from .cleanup import remove_lab_objects
from .connect import get_client
from .errors import DockernetError, LabError
from .naming import check_short_name, learner_id, sanitize_learner

SOLUTION_TAG = "solution"
SOLUTION_PLACEHOLDER = "# solution removed: try it yourself"


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DockernetError as exc:
        print(f"dockernet {args.command}: {exc}", file=sys.stderr)
        return 1
    except docker.errors.DockerException as exc:  # e.g. a corrupt bundle the daemon refused
        print(f"dockernet {args.command}: Docker refused it: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be read or written
        print(f"dockernet {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dockernet {args.command}: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree: one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="python -m dockernet",
        description="Helpers for the Docker container communication course.",
        epilog="Run `python -m dockernet COMMAND --help` for a command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = commands.add_parser(
        "doctor", help="check the Docker daemon and what this host can do",
        description="Connect to Docker as the lessons do, print the engine's facts, probe "
                    "macvlan/ipvlan/VXLAN and the firewall backend in throwaway lab containers, "
                    "and list which lessons run fully here. Exits 1 when Docker is unusable.")
    output = doctor.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true",
                        help="one line when all is well (no probes); used by `make lab`")
    output.add_argument("--json", action="store_true", help="machine-readable report")
    output.add_argument("--lessons", action="store_true",
                        help="only each lesson's status here (runs fully, degrades, cannot) "
                             "with the reason: an instructor's check of a classroom machine")
    doctor.set_defaults(handler=cmd_doctor)

    clean = commands.add_parser(
        "clean", help="remove the lab's containers, networks and volumes",
        description="Remove objects carrying the lab's labels: containers, then networks, then "
                    "volumes, re-checking each one's labels first. Objects without the labels "
                    "are never touched, whatever their names. Default: your own objects "
                    "(every lesson).")
    who = clean.add_mutually_exclusive_group()
    who.add_argument("--learner", metavar="ID",
                     help="another learner's objects (default: yours, from DOCKERNET_LEARNER, "
                          "JUPYTERHUB_USER or your user name)")
    who.add_argument("--all-learners", action="store_true",
                     help="every learner's lab objects (instructors; still labelled objects only)")
    clean.add_argument("--lesson", metavar="ID",
                       help="only this lesson's objects, e.g. 01-default-bridge")
    clean.set_defaults(handler=cmd_clean)

    image_cmd = commands.add_parser(
        "image", help="make sure the lab image is present (reuse, build, or load a bundle)",
        description="Reuse the lab image if present; else build it (docker build, or debootstrap "
                    "as root on Linux); or load an instructor's bundle with --load.")
    image_cmd.add_argument("--load", metavar="FILE",
                           help="docker load this bundle (from `python -m dockernet bundle`)")
    image_cmd.add_argument("--no-pull", action="store_true",
                           help=f"never pull {image.BASE_IMAGE} from a registry")
    image_cmd.set_defaults(handler=cmd_image)

    bundle = commands.add_parser(
        "bundle", help="write the lab image to a file for offline classrooms",
        description="Write the lab image as a gzipped `docker save` archive; learners load it "
                    "with `python -m dockernet image --load FILE`.")
    bundle.add_argument("file", metavar="FILE", help="where to write, e.g. dockernet-lab.tar.gz")
    bundle.set_defaults(handler=cmd_bundle)

    student = commands.add_parser(
        "student-copy", help="copy notebooks with the solution cells emptied",
        description=f"Copy SRC (a notebook or a folder of them) to DST, replacing the source of "
                    f"every cell tagged {SOLUTION_TAG!r} with {SOLUTION_PLACEHOLDER!r}.")
    student.add_argument("src", metavar="SRC", help="a .ipynb file or a folder of them")
    student.add_argument("dst", metavar="DST", help="the folder (or .ipynb file) to write")
    student.set_defaults(handler=cmd_student_copy)

    render = commands.add_parser(
        "render", help="instructors: every lesson executed here, with outputs, as HTML",
        description="Run each notebook in a fresh kernel (learner id 'render', so no learner's "
                    "lesson is reset) and write it with its outputs as HTML, plus an index.html.")
    render.add_argument("src", metavar="SRC", nargs="?", default="notebooks",
                        help="a .ipynb file or a folder of them (default: notebooks)")
    render.add_argument("dst", metavar="DST", nargs="?", default="build/html",
                        help="the folder to write (default: build/html)")
    render.set_defaults(handler=cmd_render)

    engine = commands.add_parser(
        "test-engine", help="contributors: a current Docker engine (Debian sid's) to test against",
        description="build: only build its image (debootstrap, no registry; as root), which is "
                    "also the image of lesson 10's simulated hosts. "
                    "start: build (debootstrap, no registry; as root) and run Debian sid's Docker "
                    "as a Docker-in-Docker engine, copy the lab image into it, and print the "
                    "DOCKER_HOST that reaches it. stop: remove its container, volume and socket "
                    "folder (--purge: its image too). Everything it makes is labelled "
                    "dockernet.testengine=1.")
    engine.add_argument("action", choices=["build", "start", "stop"])
    engine.add_argument("--purge", action="store_true", help="stop: remove the engine image too")
    engine.set_defaults(handler=cmd_test_engine)
    return parser


# -- render ---------------------------------------------------------------------------------


def cmd_render(args) -> int:
    from .render import render

    get_client()  # no daemon: say so once, before any kernel starts
    pages = render(args.src, args.dst)
    print(f"open {pages[0]} in a browser")
    return 0


# -- test-engine ----------------------------------------------------------------------------


def cmd_test_engine(args) -> int:
    from . import testengine

    client = get_client()
    if args.action == "stop":
        testengine.stop(client, purge=args.purge)
        return 0
    if args.action == "build":
        testengine.ensure_image(client)
        return 0
    url = testengine.start(client)
    print(f"DOCKER_HOST={url}")
    return 0


# -- doctor ---------------------------------------------------------------------------------


def cmd_doctor(args) -> int:
    client = get_client()  # raises DockerUnavailable with the fix: main prints it, exit 1
    report = capabilities.host_report(client, probe=not args.quiet)
    if args.quiet:
        image_state = "present" if report.lab_image_present else \
            "missing (`python -m dockernet image` makes it)"
        print(f"Docker {report.engine_version} (API {report.api_version}) at {report.daemon}: "
              f"ready; lab image {report.lab_image} {image_state}")
        return 0
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    if args.lessons:
        print(f"Docker {report.engine_version} at {report.daemon}: "
              f"{capabilities.lessons_summary(report)}.\n")
        print(capabilities.lessons_text(report))
        return 0
    print("Docker is usable.\n")
    print(report)
    print(f"\nWhich lessons run fully here ({capabilities.lessons_summary(report)}):")
    print(capabilities.lessons_frame(report).to_string())
    print(f"\nWhat changes between Docker versions ([yes]: this engine has it; Docker "
          f"{report.engine_version}, firewall {report.firewall_backend or 'not found'}):")
    print(engines.changes_text(report.engine_version, report.firewall_backend))
    return 0


# -- clean ----------------------------------------------------------------------------------


def cmd_clean(args) -> int:
    lesson = check_short_name(args.lesson, what="lesson") if args.lesson else None
    client = get_client()
    if args.all_learners:
        learners = [None]
    elif args.learner:
        # Labels hold sanitized ids; an id copied from a label may not survive sanitizing again.
        learners = sorted({args.learner, sanitize_learner(args.learner)})
    else:
        learners = [learner_id()]
    for learner in learners:
        removed = remove_lab_objects(client, learner=learner, lesson=lesson)
        whose = "every learner" if learner is None else f"learner {learner!r}"
        scope = f"lesson {lesson!r}" if lesson else "all lessons"
        print(f"{whose}, {scope}: {removed.summary()}")
        for kind in ("containers", "networks", "volumes"):
            names = getattr(removed, kind)
            if names:
                print(f"  {kind}: {', '.join(names)}")
    return 0


# -- image and bundle -----------------------------------------------------------------------


def cmd_image(args) -> int:
    client = get_client()
    if args.load:
        image.load_bundle(client, args.load)
        found = image.find(client)
        if found is None:  # load_bundle has said which tag this checkout expects
            return 1
    else:
        found = image.ensure(client, allow_pull=not args.no_pull)
    print(f"lab image {image.image_tag()} ready ({round(found.attrs.get('Size', 0) / 1e6)} MB)")
    return 0


def cmd_bundle(args) -> int:
    target = Path(args.file)
    if not target.parent.is_dir():
        raise LabError(f"cannot write {target}: the folder {target.parent} does not exist.")
    image.save_bundle(get_client(), target)
    return 0


# -- student copies -------------------------------------------------------------------------


def strip_solutions(notebook) -> int:
    """Empty every solution cell of an nbformat notebook in place; return how many.

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "x = 1", metadata={"tags": ["solution"]})])
    >>> strip_solutions(nb), nb.cells[0].source
    (1, '# solution removed: try it yourself')
    """
    count = 0
    for cell in notebook.cells:
        if SOLUTION_TAG in (cell.get("metadata", {}).get("tags") or []):
            cell.source = SOLUTION_PLACEHOLDER
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            count += 1
    return count


def cmd_student_copy(args) -> int:
    import nbformat  # jupytext depends on it; imported here to keep `doctor` fast

    from .render import notebook_pairs

    for source, target in notebook_pairs(Path(args.src), Path(args.dst)):
        try:
            notebook = nbformat.read(str(source), as_version=4)
        except (ValueError, OSError) as exc:  # NotJSONError is a ValueError
            raise LabError(f"{source} is not a readable notebook ({exc}).") from None
        emptied = strip_solutions(notebook)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(target))
        print(f"{target}: {emptied} solution cell{'s' if emptied != 1 else ''} emptied")
    return 0


if __name__ == "__main__":
    sys.exit(main())

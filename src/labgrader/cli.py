"""`labgrader`: the lab lifecycle as a command line (list, show, validate, box, up, status, ssh, halt, down)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__, box, deadlines, inventory, scenario, uploads
from .errors import InputError, LabgraderError
from .remote.evidence import inert

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

EPILOG = """\
typical session:
  labgrader list                          the scenarios, one per activity of the référentiel
  labgrader up bloc1-integration          build the box if needed, then the lab's machines
  labgrader ssh bloc1-integration client1 work on a machine as the candidate
  labgrader status bloc1-integration      machines, addresses, services answering
  labgrader check bloc1-integration       the grid, criterion by criterion (reports/bloc1-integration/)
  labgrader grade candidates/ --jobs 4    a whole session: every candidate's grid and the jury's index
  labgrader solve bloc1-integration       apply the reference solution (trainers, CI)
  labgrader test bloc1-integration        fresh lab: every check fails; solved: every check passes
  labgrader down bloc1-integration        remove every container, network and state of the lab

exit codes: 0 success, 2 bad input or host set-up, 3 the lab could not be built or reached."""


def _progress(message: str, started: float = time.monotonic()) -> None:
    console.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim] {message}")


def cmd_list(args: argparse.Namespace) -> int:
    if args.running:
        from . import lab
        table = Table("lab", "scenario", "profile", "machines", title="Labs built here")
        for planned in lab.instances():
            the_lab = lab.open_lab(planned["scenario"], name=planned["name"])
            states = lab.machine_states(the_lab)
            table.add_row(planned["name"], planned["scenario"], planned["profile"],
                          ", ".join(f"{m} {state.lower()}" for m, state in states.items()))
        out.print(table)
        return 0
    table = Table("scenario", "activity", "title", "profiles", title="Scenarios")
    for sid in scenario.scenario_ids():
        s = scenario.load(sid)
        table.add_row(s.id, s.activity, s.title, ", ".join(s.profiles))
    out.print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    s = scenario.load(args.scenario)
    out.print(f"[bold]{s.id}[/bold] — {s.activity} — {s.title}\n")
    out.print(s.brief)
    for name, profile in s.profiles.items():
        table = Table("machine", "role", "address", title=f"profile {name} ({profile.provider})")
        for m in profile.machines:
            table.add_row(m.name, m.role, str(m.address))
        out.print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from . import grading
    ids = [args.scenario] if args.scenario else scenario.scenario_ids()
    for sid in ids:
        s = scenario.load(sid)
        out.print(f"{s.id}: valid ({s.activity}, {sum(len(p.machines) for p in s.profiles.values())} machines)")
    coverage = grading.validate_checks()
    table = Table("activity", "automated criteria covered", "coverage", title="Checks per activity")
    for activity, (covered, automated) in coverage.items():
        share = f"{100 * covered / automated:.0f} %" if automated else "no automated criterion"
        table.add_row(activity, f"{covered}/{automated}", share)
    out.print(table)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from . import grading, paths
    name = args.name or args.scenario
    inventory_path = Path(args.inventory) if args.inventory else paths.lab_dir(name) / "inventory.yml"
    if not args.inventory and not inventory_path.is_file():
        shown = args.scenario + (f" --name {name}" if name != args.scenario else "")
        raise InputError(f"lab {name} is not up here: run `labgrader up {shown}`, "
                         "or give the inventory of the candidate's machines", field="--inventory")
    out_dir = Path(args.out or Path("reports") / name)
    loaded = inventory.load(inventory_path)  # bad input is one line, before anything else is said
    if args.candidate is None:
        args.candidate = loaded.candidate or "anonyme"
    console.print(f"checking {args.scenario} with {paths.display(inventory_path)} …")
    extra = ("--trust-on-first-use",) if args.trust_on_first_use else ()
    if args.inventory:
        run = grading.run_checks(args.scenario, inventory_path, args.candidate, out_dir, extra)
    else:  # the lab built here: never graded while `up`, `solve` or `down` is changing it
        from . import lab
        with lab.locked(lab.open_lab(args.scenario, name=name), shared=True):
            run = grading.run_checks(args.scenario, inventory_path, args.candidate, out_dir, extra)
    out.print(grid_table(run.report))
    if run.report.get("incomplete"):
        out.print("[yellow]interrupted:[/] the report is marked incomplete; criteria not fully graded are errors")
    out.print(f"report: {paths.display(run.report_dir / 'report.html')} (and report.json, junit.xml, checks.log)")
    return run.exit_code


def grid_table(report: dict) -> Table:
    """The evaluator's grid in the terminal: one row per criterion, the first problem of each."""
    labels = {"met": "[green]met[/]", "not_met": "[red]not met[/]", "error": "[yellow]error[/]",
              "evaluator": "[blue]evaluator[/]"}
    table = Table("criterion", "status", "checks", "first problem", title=f"{report['activity']} — "
                  f"candidate {report['candidate']}")
    for criterion in report["criteria"]:
        checks = criterion["checks"]
        passed = sum(c["outcome"] == "passed" for c in checks)
        problem = next((c["message"] for c in checks if c["outcome"] in ("failed", "error")), "")
        # Candidate text is inert: never read as markup, its control characters shown escaped.
        table.add_row(criterion["id"], labels[criterion["status"]], f"{passed}/{len(checks)}" if checks else "-",
                      Text(inert(problem)[:70]))
    return table


def cmd_grade(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import batch, paths
    candidates, refused = batch.find_candidates([Path(p) for p in args.inventories], args.scenario)
    out_dir = Path(args.out)
    console.print(f"grading {len(candidates)} candidate(s), {args.jobs} at a time, into {paths.display(out_dir)}")
    for row in refused:
        console.print(f"labgrader: not graded: {row['problem']}", markup=False, soft_wrap=True)
    tally = {"not_met": 0, "error": 0}
    with Progress(TextColumn("candidats notés"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("", total=len(candidates) + len(refused))

        def progress(row: dict, done: int, total: int) -> None:
            tally["not_met"] += row["exit_code"] == 1
            tally["error"] += not row["graded"] or row["exit_code"] == 3
            bar.update(task, completed=done,
                       description=f"· {tally['not_met']} avec un critère non atteint · {tally['error']} en erreur")

        document = batch.grade_all(candidates, out_dir, args.jobs, refused, progress)
    summary = document["summary"]
    out.print(f"{summary['graded']}/{summary['candidates']} graded; index: {paths.display(out_dir / 'index.html')} "
              "(and index.csv, index.json)")
    return batch.exit_code(document)


def cmd_session(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import labsession, paths
    labsession.check_jobs(args.jobs)
    candidates = labsession.read_candidates(Path(args.candidates))
    scenario.load(args.scenario)  # an unknown scenario is one line, before any lab is touched
    if args.action == "status":
        statuses = labsession.read_statuses(candidates, lambda c: labsession.read_status(args.scenario, c), args.jobs)
        table = Table("candidate", "lab", "running", "not running", title=f"session {args.scenario}")
        for lab_status in statuses:
            table.add_row(Text(lab_status.candidate.id), lab_status.candidate.lab, lab_status.running_share,
                          Text(lab_status.summary()))
        out.print(table)
        return labsession.status_exit_code(statuses)
    children, tally = labsession.Children(), {"failed": 0}
    log_dir = labsession.log_path(args.scenario, candidates[0]).parent
    console.print(f"{args.action}: {len(candidates)} lab(s) of {args.scenario}, {min(args.jobs, len(candidates))} "
                  f"at a time; logs in {paths.display(log_dir)}", markup=False, soft_wrap=True)
    with Progress(TextColumn(f"labs {args.action}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("", total=len(candidates))

        def finished(outcome: labsession.Outcome, done: int, total: int) -> None:
            tally["failed"] += outcome.result != labsession.OK
            console.print(outcome.line(paths.display), markup=False, soft_wrap=True)
            bar.update(task, completed=done, description=f"· {tally['failed']} not {args.action}")

        def stop_children() -> None:
            console.print(f"interrupted: no further lab is started; stopping the {len(children.running())} running "
                          "(SIGTERM: each cleans up; Ctrl-C again kills them)", soft_wrap=True)
            children.stop()

        session = labsession.run_labs(
            candidates, lambda c: labsession.lab_argv(args.action, args.scenario, c, provider=args.provider,
                                                      profile=args.profile),
            lambda c: labsession.log_path(args.scenario, c), children.run, args.jobs, args.action, finished,
            stop_children)
    table = Table("candidate", "lab", "result", "seconds", "log", title=f"session {args.action} {args.scenario}")
    for o in session.outcomes:
        table.add_row(Text(o.candidate.id), o.candidate.lab, o.result, f"{o.seconds:.0f}",
                      o.log.name if o.result in (labsession.FAILED, labsession.INTERRUPTED) else "")
    out.print(table)
    out.print(f"{session.count(labsession.OK)}/{len(candidates)} labs {args.action}; logs in {paths.display(log_dir)}",
              markup=False, soft_wrap=True)
    if session.cut_short:
        again = ("it rebuilds them and leaves the labs already up alone" if args.action == "up"
                 else "it finishes removing them")
        out.print(f"interrupted while working on {', '.join(o.candidate.lab for o in session.cut_short)}: they may "
                  f"be half-{'built' if args.action == 'up' else 'removed'}; run the same `labgrader session "
                  f"{args.action}` again: {again}", markup=False, soft_wrap=True)
    return labsession.exit_code(session)


def cmd_box(args: argparse.Namespace) -> int:
    built = box.ensure(_progress)
    out.print(f"{built.name} ({built.path})")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from . import lab
    the_lab = lab.open_lab(args.scenario, args.profile, args.name, args.provider)
    lab.up(the_lab, _progress, uploads.parse_given(args.archive))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from . import lab
    the_lab = lab.open_lab(args.scenario, args.profile, args.name)
    rows = lab.status(the_lab)
    table = Table("machine", "role", "address", "state", "answers", title=f"lab {the_lab.id} ({the_lab.profile})")
    for row in rows:
        table.add_row(*row.values())
    out.print(table)
    return 0 if all(row["state"] == "RUNNING" for row in rows) else 1


def cmd_halt(args: argparse.Namespace) -> int:
    from . import lab
    lab.halt(lab.open_lab(args.scenario, args.profile, args.name), _progress)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from . import lab
    lab.down(lab.open_lab(args.scenario, args.profile, args.name), _progress)
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    from . import lab, solving
    solving.solve(lab.open_lab(args.scenario, name=args.name), _progress)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from . import lab, solving
    result = solving.self_test(lab.open_lab(args.scenario, args.profile, args.name, args.provider), _progress,
                               keep=args.keep,
                               archives=uploads.parse_given(args.archive))
    for check in result.not_failing_on_fresh_lab:
        out.print(f"[red]did not fail on the fresh lab:[/] {check}")
    for check in result.not_passing_once_solved:
        out.print(f"[red]did not pass once solved:[/] {check}")
    to_flip = result.checks - len(result.guards)
    flipped = to_flip - len(set(result.not_failing_on_fresh_lab) | set(result.not_passing_once_solved))
    out.print(f"{args.scenario}: {flipped} of {to_flip} checks flipped from failed to passed")
    if result.guards:
        out.print(f"{len(result.guards)} supporting check(s) held on the fresh lab as once solved (guards against a "
                  "bad repair, never a verdict)")
    return 0 if result.ok else 1


def cmd_ssh(args: argparse.Namespace) -> int:
    from . import lab
    command = args.command
    while command[:1] == ["--name"] and len(command) > 1:  # `ssh SCENARIO MACHINE --name NAME -- CMD`: argparse
        args.name, command = command[1], command[2:]        # leaves options after MACHINE in the command
    command = command[1:] if command[:1] == ["--"] else command
    the_lab = lab.open_lab(args.scenario, name=args.name)
    argv = lab.ssh_argv(the_lab, args.machine, command)
    if not command:
        os.execvp(argv[0], argv)  # an interactive shell: hand the terminal over
    with lab.locked(the_lab, shared=True):
        return subprocess.run(argv).returncode


def cmd_cluster(args: argparse.Namespace) -> int:
    from . import paths
    from .incus import enrol
    token = sys.stdin.readline() if args.token == "-" else args.token  # "-": kept out of the process list
    done = enrol.enrol(token, tunnel_local=args.tunnel_local, address=args.address, namespace=args.namespace)
    out.print(f"enrolled with the cluster at {done.address}: {paths.display(done.path)} "
              f"(members: {', '.join(done.members)})", markup=False, soft_wrap=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labgrader", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Build the practice labs of the TIIMS certification and check what a candidate did in them.")
    parser.add_argument("--version", action="version", version=f"labgrader {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, handler, help_text: str, *, lab: bool = True, profile: bool = True):
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        if lab:
            sub.add_argument("scenario", metavar="SCENARIO", help="scenario id, e.g. bloc1-integration (see `list`)")
        if lab and profile:
            sub.add_argument("--profile", help="machine profile of the scenario (default: embedded, or the one up)")
        if lab and name not in ("show", "validate"):
            sub.add_argument("--name", help="the lab's name, to run several labs of one scenario side by side "
                             "(default: the scenario's id)")
        sub.set_defaults(handler=handler)
        return sub

    li = verb("list", cmd_list, "list the scenarios (or, with --running, the labs built here)", lab=False)
    li.add_argument("--running", action="store_true", help="the labs built here: name, scenario, machines' states")
    verb("show", cmd_show, "show a scenario's brief and machines", profile=False)
    v = verb("validate", cmd_validate, "check scenario files and checks (criteria exist and belong to the "
             "activity); print coverage per activity", lab=False)
    v.add_argument("scenario", nargs="?", metavar="SCENARIO", help="one scenario (default: all)")
    b = verb("box", cmd_box, "build (if its cache is cold) and add the embedded provider's Vagrant box", lab=False)
    b.add_argument("action", choices=["build"], help="build")
    c = verb("check", cmd_check, "run the scenario's checks and write the evaluator's grid (exit 0 all met, "
             "1 some not met, 2 bad input, 3 a host unreachable)", profile=False)
    c.add_argument("--inventory", metavar="FILE", help="the machines to check (default: the lab `up` built here)")
    c.add_argument("--candidate", metavar="ID", help="the candidate's pseudonymous id (default: the inventory's "
                   "`candidate:`, else 'anonyme')")
    c.add_argument("--out", metavar="DIR", help="where the reports go (default: reports/SCENARIO)")
    c.add_argument("--trust-on-first-use", action="store_true", help="accept machines' unknown SSH host keys and "
                   "record them in the inventory's known_hosts (a changed key is always refused)")
    g = verb("grade", cmd_grade, "grade many candidates (inventory files or folders of them), each in its own "
             "process, into one folder per candidate plus the jury's index (exit 0 every candidate graded, 3 some "
             "could not be, 2 bad input)", lab=False)
    g.add_argument("inventories", nargs="+", metavar="INVENTORY", help="an inventory file, or a folder holding "
                   "inventory.yml / *.inventory.yml files (the candidate's id is the inventory's `candidate:`, else "
                   "the file's or folder's name)")
    g.add_argument("--out", metavar="DIR", default="reports/session", help="where reports go (default: %(default)s)")
    g.add_argument("--jobs", metavar="N", type=int, default=max(1, (os.cpu_count() or 2)),
                   help="candidates graded at once (default: the number of cores, %(default)s)")
    g.add_argument("--scenario", metavar="ID", help="the scenario, for inventories that do not name it")
    se = verb("session", cmd_session, "one scenario's labs for a whole session, one per candidate: `up` builds "
              "them, `status` shows whether their machines run, `down` removes them (exit 0 all up / running / "
              "removed, 1 status: not all running, 3 some lab failed, 2 bad input, 130 interrupted)", lab=False)
    se.formatter_class = argparse.RawDescriptionHelpFormatter  # the epilog's examples keep their lines
    se.description = ("One scenario's labs for a whole session, one per candidate: `up` builds them, `status` "
                       "shows\nwhether their machines run, `down` removes them. Exit 0 all up / running / removed, "
                       "1 (status)\nnot all running, 3 some lab failed, 2 bad input, 130 interrupted.")
    se.epilog = ("Each candidate's lab is named after its id (lower-cased) and built or removed by its own\n"
                 "`labgrader up|down SCENARIO --name ID` process, N at a time; one lab failing never stops the\n"
                 "others. Each one's output: .labgrader/logs/session-SCENARIO/ID.log. Ctrl-C starts no further lab\n"
                 "and stops the running ones (SIGTERM, then they clean up); the labs they were on are named.\n\n"
                 "example:\n  labgrader session up bloc1-integration --candidates groupe-a.txt --jobs 8\n"
                 "  labgrader session status bloc1-integration --candidates groupe-a.txt\n"
                 "  labgrader session down bloc1-integration --candidates groupe-a.txt")
    se.add_argument("action", choices=["up", "status", "down"], help="up, status or down")
    se.add_argument("scenario", metavar="SCENARIO", help="scenario id, e.g. bloc1-integration (see `list`)")
    se.add_argument("--candidates", metavar="FILE", required=True, help="the candidates' pseudonymous ids, one per "
                    "line (blank lines and # comments ignored); each id names its lab")
    se.add_argument("--provider", choices=["incus"], help="what runs the machines, e.g. incus (passed to each `up`)")
    se.add_argument("--profile", help="machine profile of the scenario (passed to each `up`)")
    se.add_argument("--jobs", metavar="N", type=int, default=4, help="labs built, checked or removed at once "
                    "(default: %(default)s)")
    u = verb("up", cmd_up, "bring a lab up (idempotent): box, network namespace, machines, inventory")
    verb("status", cmd_status, "show the lab's machines and whether their services answer (exit 1 if not all run)")
    verb("solve", cmd_solve, "apply the scenario's reference solution to the running lab", profile=False)
    t = verb("test", cmd_test, "self-test a scenario: fresh lab, every check fails; solve; every check passes; down")
    t.add_argument("--keep", action="store_true", help="leave the solved lab up afterwards")
    for sub in (u, t):
        sub.add_argument("--archive", action="append", metavar="ROLE=FILE",
                         help="software a role needs that labgrader cannot download, e.g. glpi=glpi-10.0.18.tgz "
                         "(GLPI's release archive; or LABGRADER_GLPI_ARCHIVE=FILE); its SHA-256 must be pinned by "
                         "the role, or vouched for with LABGRADER_GLPI_ARCHIVE_SHA256")
        sub.add_argument("--provider", choices=["incus"], help="run the embedded profile's containers elsewhere: "
                         "incus = on the Incus cluster this host is enrolled with (`cluster enrol`); kept until down")
    verb("halt", cmd_halt, "stop the lab's machines, keeping them for a fast `up`")
    verb("down", cmd_down, "remove the lab entirely: containers, namespace, bridge, DHCP, state (idempotent)")
    s = verb("ssh", cmd_ssh, "open a shell on a machine, or run one command and return its exit code", profile=False)
    s.add_argument("machine", metavar="MACHINE", help="machine name, e.g. client1")
    s.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="a command to run instead of a shell")
    cl = verb("cluster", cmd_cluster, "enrol this host with an Incus cluster (the incus provider)", lab=False)
    cl.add_argument("action", choices=["enrol"], help="enrol: trust this host's new certificate with a token")
    cl.add_argument("token", metavar="TOKEN", help="what `incus config trust add NAME` printed on a member "
                    "(- reads it from standard input)")
    cl.add_argument("--address", metavar="HOST:PORT", help="the member to ask (default: the token's addresses)")
    cl.add_argument("--namespace", metavar="NS", help="the network namespace from which this host reaches the cluster")
    cl.add_argument("--tunnel-local", metavar="IP", required=True,
                    help="this host's address as the members reach it (the labs' tunnels end here)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    deadlines.interrupt_on_termination()  # SIGTERM/SIGHUP: the same clean-up as Ctrl-C
    try:
        return args.handler(args)
    except LabgraderError as exc:
        console.print(f"labgrader: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("labgrader: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())

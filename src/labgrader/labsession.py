"""`labgrader session`: one scenario's labs for a whole group of candidates (one lab each, 20 to 100 of them),
brought up, watched and removed together.

Each lab is built or removed by a `labgrader up|down SCENARIO --name NAME` process of its own, `jobs` at a time,
its output in its own log file: a lab that fails never stops the others, and a process is what the lifecycle
already knows how to interrupt cleanly. On Ctrl-C no further lab is started and the running children are
ended by PID (SIGTERM: each runs its own clean-up), so the labs they were working on can be named.

The logic is here, free of any terminal: the runner takes `run(argv, log_path) -> returncode`, so it is tested
with fake children; the CLI draws the progress bar and the tables."""
from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import paths
from .errors import HostSetupError, InputError, LabgraderError
from .remote.evidence import inert

ACTIONS = ("up", "status", "down")
DEFAULT_JOBS = 4
# How long an interrupted `up` or `down` may take to clean up after SIGTERM (removing half-built machines)
# before it is killed: killing it earlier would leave more of its lab behind.
STOP_GRACE_S = 180
OK, FAILED, NOT_STARTED, INTERRUPTED = "ok", "failed", "not started", "interrupted"
ABSENT = "absent"

Run = Callable[[list[str], Path], int | None]


@dataclass(frozen=True)
class Candidate:
    id: str    # as the candidates file spells it
    lab: str   # the lab's name: the id lower-cased
    line: int  # where the file lists it


def read_candidates(path: Path) -> list[Candidate]:
    """The candidates of a session file: one pseudonymous id per line, blank lines and `#` comments ignored.
    An id that cannot name a lab, or one listed twice, is refused before any lab is touched."""
    from .lab import INSTANCE_NAME  # the lab module pulls in every provider: only when a file is read
    shown = paths.display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=shown, field="--candidates") from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=shown) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path=shown) from None
    candidates: list[Candidate] = []
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        where = {"path": shown, "field": f"line {number}"}
        quoted = inert(entry)[:60]  # the file is the user's: shown escaped and short, never as terminal codes
        if len(entry.split()) > 1:
            raise InputError(f"'{quoted}' is more than one id: one candidate per line", **where)
        name = entry.lower()
        if not INSTANCE_NAME.match(name):
            raise InputError(f"'{quoted}' cannot name a lab (a letter, then letters, digits and -, at most 40 in "
                             "all; case is ignored)", **where)
        if name in first_seen:
            raise InputError(f"'{quoted}' is listed twice (first on line {first_seen[name]})", **where)
        first_seen[name] = number
        candidates.append(Candidate(entry, name, number))
    if not candidates:
        raise InputError("no candidate id in this file (one per line, # for comments)", path=shown)
    return candidates


def log_path(scenario: str, candidate: Candidate) -> Path:
    return paths.state_dir() / "logs" / f"session-{scenario}" / f"{candidate.lab}.log"


def lab_argv(action: str, scenario: str, candidate: Candidate, *, provider: str | None = None,
             profile: str | None = None) -> list[str]:
    """The `labgrader up|down` command for one candidate's lab, run by this very interpreter (the same
    virtualenv and checkout as the session). Provider and profile only choose how a lab is built: `down`
    finds them in the lab's own plan."""
    argv = [sys.executable, "-m", "labgrader.cli", action, scenario, "--name", candidate.lab]
    if action == "up":
        argv += ["--provider", provider] if provider else []
        argv += ["--profile", profile] if profile else []
    return argv


# --- running many labs' commands, a bounded number at once -------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    candidate: Candidate
    result: str            # OK, FAILED, NOT_STARTED or INTERRUPTED
    returncode: int | None
    seconds: float
    log: Path
    problem: str = ""      # why it could not even be started

    def line(self, display: Callable[[Path], str] = str) -> str:
        """One line as the lab finishes: its name, how it ended, how long it took, where to look if it failed."""
        how = f"{self.result} (exit {self.returncode})" if self.result == FAILED and self.returncode else self.result
        text = f"{self.candidate.lab}: {how} in {self.seconds:.0f}s"
        if self.result in (OK, NOT_STARTED):
            return text
        return text + f"; log: {display(self.log)}" + (f" ({self.problem})" if self.problem else "")


@dataclass(frozen=True)
class SessionRun:
    action: str
    outcomes: list[Outcome]  # in the candidates file's order
    interrupted: bool = False

    @property
    def cut_short(self) -> list[Outcome]:
        """Labs whose command was running when the session was interrupted: possibly half-built or half-removed."""
        return [o for o in self.outcomes if o.result == INTERRUPTED]

    def count(self, result: str) -> int:
        return sum(o.result == result for o in self.outcomes)


def run_labs(candidates: list[Candidate], argv_for: Callable[[Candidate], list[str]],
             log_for: Callable[[Candidate], Path], run: Run, jobs: int, action: str = "up",
             finished: Callable[[Outcome, int, int], None] = lambda outcome, done, total: None,
             stop_children: Callable[[], None] = lambda: None) -> SessionRun:
    """run(argv_for(c), log_for(c)) for every candidate, at most `jobs` at once, in the file's order; a failure
    (a non-zero code, or `run` raising) is that lab's alone. `finished` hears of each lab as it ends.

    Ctrl-C (KeyboardInterrupt in this, the main thread) stops the launching, calls `stop_children` (which must
    make the running `run` calls return), and waits for them: the labs they were on are INTERRUPTED."""
    check_jobs(jobs)
    pending, lock, stopping = deque(candidates), threading.Lock(), threading.Event()
    running: set[str] = set()
    interrupted_labs: set[str] = set()
    results: queue.Queue[Outcome] = queue.Queue()

    def worker() -> None:
        while True:
            with lock:
                if stopping.is_set() or not pending:
                    return
                candidate = pending.popleft()
                running.add(candidate.lab)
            results.put(_run_one(candidate))
            with lock:
                running.discard(candidate.lab)

    def _run_one(candidate: Candidate) -> Outcome:
        log, started = log_for(candidate), time.monotonic()
        try:
            code = run(argv_for(candidate), log)
        except Exception as exc:  # this lab's command could not be run: said on its row, the others go on
            return Outcome(candidate, FAILED, None, time.monotonic() - started, log, problem=f"{exc}"[:200])
        seconds = time.monotonic() - started
        if code is None:  # the runner refused to start it: the session is stopping
            return Outcome(candidate, NOT_STARTED, None, 0.0, log)
        if code != 0 and candidate.lab in interrupted_labs:
            return Outcome(candidate, INTERRUPTED, code, seconds, log)
        return Outcome(candidate, OK if code == 0 else FAILED, code, seconds, log)

    threads = [threading.Thread(target=worker, name=f"session-{i}", daemon=True)
               for i in range(min(jobs, len(candidates)))]
    for thread in threads:
        thread.start()
    outcomes: dict[str, Outcome] = {}
    interrupted = False
    try:
        while len(outcomes) < len(candidates):
            try:
                outcome = results.get(timeout=0.2)
            except queue.Empty:
                if any(thread.is_alive() for thread in threads) or not results.empty():
                    continue
                break  # a worker died of something other than its lab's failure: the rest are NOT_STARTED
            outcomes[outcome.candidate.lab] = outcome
            finished(outcome, len(outcomes), len(candidates))
    except KeyboardInterrupt:
        interrupted = True
        with lock:
            stopping.set()
            interrupted_labs.update(running)
        stop_children()
        for thread in threads:
            thread.join()
        while not results.empty():
            outcome = results.get()
            outcomes[outcome.candidate.lab] = outcome
            finished(outcome, len(outcomes), len(candidates))
    ordered = [outcomes.get(c.lab) or Outcome(c, NOT_STARTED, None, 0.0, log_for(c)) for c in candidates]
    return SessionRun(action, ordered, interrupted)


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise InputError(f"{jobs} labs at a time: give at least 1", field="--jobs")


def exit_code(session: SessionRun) -> int:
    """0 when every lab's command succeeded, 3 (a lab could not be built or removed) when one did not, 130 when
    the session was interrupted (as the CLI does for Ctrl-C)."""
    if session.interrupted:
        return 130
    return 0 if all(o.result == OK for o in session.outcomes) else 3


class Children:
    """The child processes of a session, known by PID so that an interruption can end them.

    Each child gets a session (process group) of its own: Ctrl-C in the terminal reaches this process only,
    and each child is then sent exactly one SIGTERM, which `labgrader` turns into its usual clean-up."""

    def __init__(self, grace_s: float = STOP_GRACE_S):
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen] = {}
        self._stopping = False

    def run(self, argv: list[str], log: Path) -> int | None:
        """Run argv, its output appended to `log` (0600: a lab's output is the root's business); its exit code,
        or None when the session is stopping and it was not started."""
        if self._stopping:
            return None
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            with self._lock:
                if self._stopping:  # stop() came while the log was opened: it would not know this child
                    return None
                # Appended, never truncated: `session down` must not erase what `session up` said went wrong.
                out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(argv)}\n")
                out.flush()
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
                self._running[child.pid] = child
            try:
                return child.wait()
            finally:
                with self._lock:
                    self._running.pop(child.pid, None)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._running)

    def stop(self) -> None:
        """Start no more children; SIGTERM each running one by PID and wait for it to clean up; after the grace
        period, or at a second Ctrl-C, SIGKILL what remains of its process group."""
        with self._lock:
            self._stopping = True
            children = list(self._running.values())
        for child in children:
            _signal(lambda: os.kill(child.pid, signal.SIGTERM))
        deadline = time.monotonic() + self.grace_s
        try:
            for child in children:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            for child in children:
                if child.poll() is None:
                    # The group, not only the PID: its vagrant or lxc commands must not outlive it.
                    _signal(lambda: os.killpg(child.pid, signal.SIGKILL))
            for child in children:
                child.wait()


def _signal(send: Callable[[], None]) -> None:
    try:
        send()
    except ProcessLookupError:  # it had ended meanwhile
        pass


# --- status ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabStatus:
    candidate: Candidate
    states: dict[str, str] | None  # machine -> state; None when the lab was never built here
    problem: str = ""              # why its state could not be read

    @property
    def running(self) -> int:
        return sum(state == "RUNNING" for state in (self.states or {}).values())

    @property
    def running_share(self) -> str:
        """Machines running out of the lab's machines, e.g. 2/3; `-` when the lab has none to count."""
        return f"{self.running}/{len(self.states)}" if self.states else "-"

    @property
    def all_running(self) -> bool:
        return bool(self.states) and not self.problem and self.running == len(self.states)

    def summary(self) -> str:
        """What is wrong with the lab, in a few words: empty when every machine runs."""
        if self.problem:
            return self.problem
        if self.states is None or all(state == "ABSENT" for state in self.states.values()):
            return ABSENT
        return ", ".join(f"{machine} {state}" for machine, state in self.states.items() if state != "RUNNING")


def read_status(scenario: str, candidate: Candidate) -> LabStatus:
    """One candidate's lab as its provider sees it."""
    from . import lab
    if not (paths.lab_dir(candidate.lab) / "plan.json").is_file():
        return LabStatus(candidate, None)  # never built here (or removed): nothing to ask a provider
    try:
        rows = lab.status(lab.open_lab(scenario, None, candidate.lab))
    except HostSetupError:
        raise  # the host's problem, the same for every lab: said once
    except LabgraderError as exc:
        return LabStatus(candidate, {}, problem=str(exc).splitlines()[0][:200])
    return LabStatus(candidate, {row["machine"]: row["state"] for row in rows})


def read_statuses(candidates: Iterable[Candidate], read: Callable[[Candidate], LabStatus],
                  jobs: int) -> list[LabStatus]:
    """read(c) for every candidate, `jobs` at a time (each asks the provider and probes services), in order."""
    check_jobs(jobs)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="status") as pool:
        return list(pool.map(read, candidates))


def status_exit_code(statuses: list[LabStatus]) -> int:
    """0 when every machine of every lab runs, 1 otherwise (as `labgrader status` for one lab)."""
    return 0 if all(status.all_running for status in statuses) else 1

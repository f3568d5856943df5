"""`labgrader session up|status|down`: a whole group's labs, one per candidate, `jobs` at a time. The runner is
proven with fake commands (a counter, `sleep`), never a lab: at most N at once, a failure is that lab's alone,
and Ctrl-C ends the running children by PID and names the labs they were on."""
from __future__ import annotations

import _thread
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labgrader import labsession
from labgrader.errors import InputError
from labgrader.labsession import FAILED, INTERRUPTED, NOT_STARTED, OK, Candidate, LabStatus

LABGRADER = [sys.executable, "-m", "labgrader.cli"]


def candidates_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "groupe-a.txt"
    path.write_text(text)
    return path


def candidates(count: int) -> list[Candidate]:
    return [Candidate(f"Cand-{i:03}", f"cand-{i:03}", i) for i in range(1, count + 1)]


def run_session(items: list[Candidate], run, jobs: int, **kwargs) -> labsession.SessionRun:
    return labsession.run_labs(items, lambda c: ["labgrader", "up", "bloc1-integration", "--name", c.lab],
                               lambda c: Path("/nonexistent") / f"{c.lab}.log", run, jobs, **kwargs)


# --- the candidates file ---------------------------------------------------------------------------------------

def test_a_candidates_file_gives_one_lab_per_id_lower_cased_comments_and_blank_lines_ignored(tmp_path):
    path = candidates_file(tmp_path, "# groupe A, session de juin\nCand-0042\n\n  cand-0043  # absent lundi\nX9\n")
    assert labsession.read_candidates(path) == [Candidate("Cand-0042", "cand-0042", 2),
                                                Candidate("cand-0043", "cand-0043", 4), Candidate("X9", "x9", 5)]


@pytest.mark.parametrize("text, line, message", [
    ("cand-1\n9cand\n", 2, "'9cand' cannot name a lab"),
    ("cand_1\n", 1, "'cand_1' cannot name a lab"),
    ("c" + "x" * 40 + "\n", 1, "cannot name a lab"),
    ("cand\x1b[31m\n", 1, "'cand\\x1b[31m' cannot name a lab"),  # shown escaped, never as terminal codes
    ("cand-1 cand-2\n", 1, "'cand-1 cand-2' is more than one id"),
    ("# a\nCand-1\ncand-2\n\ncand-1\n", 5, "'cand-1' is listed twice (first on line 2)"),
])
def test_an_id_that_cannot_name_a_lab_or_a_duplicate_is_one_line_naming_file_and_line(tmp_path, text, line, message):
    path = candidates_file(tmp_path, text)
    with pytest.raises(InputError) as refused:
        labsession.read_candidates(path)
    assert str(refused.value).startswith(f"{path}: line {line}: ") and message in str(refused.value)
    assert "\n" not in str(refused.value) and refused.value.exit_code == 2


def test_an_empty_or_missing_candidates_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="no candidate id in this file"):
        labsession.read_candidates(candidates_file(tmp_path, "# nobody yet\n\n"))
    with pytest.raises(InputError, match="no such file"):
        labsession.read_candidates(tmp_path / "missing.txt")


def test_provider_and_profile_choose_how_a_lab_is_built_so_only_up_is_given_them():
    cand = Candidate("Cand-7", "cand-7", 1)
    up = labsession.lab_argv("up", "bloc1-integration", cand, provider="incus", profile="full")
    assert up == [sys.executable, "-m", "labgrader.cli", "up", "bloc1-integration", "--name", "cand-7",
                  "--provider", "incus", "--profile", "full"]
    assert labsession.lab_argv("down", "bloc1-integration", cand, provider="incus", profile="full")[3:] == [
        "down", "bloc1-integration", "--name", "cand-7"]
    assert labsession.lab_argv("up", "bloc1-integration", cand)[3:] == ["up", "bloc1-integration", "--name", "cand-7"]


# --- running many labs -------------------------------------------------------------------------------------------

def test_never_more_than_jobs_labs_at_once_and_every_lab_once():
    lock, now, peak, seen = threading.Lock(), [0], [0], []

    def run(argv, log):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
            seen.append(argv[-1])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        return 0

    session = run_session(candidates(10), run, jobs=3)
    assert peak[0] == 3, f"at most 3 at once, and 3 when 10 wait: {peak[0]}"
    assert sorted(seen) == [c.lab for c in candidates(10)]
    assert [o.result for o in session.outcomes] == [OK] * 10 and labsession.exit_code(session) == 0


def test_one_lab_failing_never_stops_the_others_and_the_session_exits_3():
    heard = []

    def run(argv, log):
        if argv[-1] == "cand-002":
            return 3
        if argv[-1] == "cand-004":
            raise OSError("No space left on device")
        return 0

    session = run_session(candidates(6), run, jobs=2, finished=lambda o, done, total: heard.append((done, total)))
    results = {o.candidate.lab: o for o in session.outcomes}
    assert [o.result for o in session.outcomes] == [OK, FAILED, OK, FAILED, OK, OK]
    assert results["cand-002"].returncode == 3 and "No space left on device" in results["cand-004"].problem
    assert heard == [(done, 6) for done in range(1, 7)], "the progress hears of every lab as it ends"
    assert labsession.exit_code(session) == 3 and not session.interrupted
    assert results["cand-002"].line() == "cand-002: failed (exit 3) in 0s; log: /nonexistent/cand-002.log"
    assert results["cand-001"].line() == "cand-001: ok in 0s"


def test_jobs_below_one_is_refused():
    with pytest.raises(InputError, match="--jobs: 0 labs at a time"):
        run_session(candidates(2), lambda argv, log: 0, jobs=0)


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _interrupt_once_running(children: labsession.Children, count: int) -> list[int]:
    """Ctrl-C in the main thread, as the terminal sends it, once `count` children run; their PIDs."""
    pids: list[int] = []

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 10
        while len(children.running()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        pids.extend(children.running())
        _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    return pids


def test_ctrl_c_launches_no_more_labs_terminates_the_running_children_and_names_their_labs(tmp_path):
    children = labsession.Children(grace_s=10)
    pids = _interrupt_once_running(children, 2)
    started = time.monotonic()
    session = labsession.run_labs(candidates(5), lambda c: ["sleep", "30"], lambda c: tmp_path / f"{c.lab}.log",
                                  children.run, jobs=2, stop_children=children.stop)
    assert time.monotonic() - started < 8, "the children were ended, not waited for"
    assert len(pids) == 2 and all(_gone(pid) for pid in pids), "every running child is ended"
    assert session.interrupted and labsession.exit_code(session) == 130
    assert [o.result for o in session.outcomes] == [INTERRUPTED, INTERRUPTED, NOT_STARTED, NOT_STARTED, NOT_STARTED]
    assert [o.candidate.lab for o in session.cut_short] == ["cand-001", "cand-002"]
    assert session.outcomes[0].returncode == -signal.SIGTERM, "SIGTERM first: a labgrader child cleans up"
    assert not (tmp_path / "cand-003.log").exists(), "no lab is started once interrupted"


def test_a_child_that_ignores_sigterm_is_killed_with_its_process_group_after_the_grace(tmp_path):
    children = labsession.Children(grace_s=0.5)
    pids = _interrupt_once_running(children, 1)
    script = "trap '' TERM; sleep 30 & wait"  # the grandchild stands for the vagrant a labgrader child runs
    session = labsession.run_labs(candidates(1), lambda c: ["sh", "-c", script], lambda c: tmp_path / "one.log",
                                  children.run, jobs=1, stop_children=children.stop)
    assert session.outcomes[0].result == INTERRUPTED and session.outcomes[0].returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while not _gone(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pids[0]), "its whole process group is killed: no grandchild outlives it"


def test_a_childs_output_is_appended_to_its_own_private_log(tmp_path):
    log = tmp_path / "logs" / "session-bloc1-integration" / "cand-001.log"
    children = labsession.Children()
    assert children.run(["sh", "-c", "echo building; echo oops >&2; exit 3"], log) == 3
    assert children.run(["sh", "-c", "echo removed"], log) == 0
    text = log.read_text()
    assert text.index("building") < text.index("oops") < text.index("removed"), "the up's log survives the down's"
    assert text.count("\n=== ") == 2 and "sh -c 'echo removed'" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


# --- status ------------------------------------------------------------------------------------------------------

def test_status_names_each_machine_not_running_and_a_lab_never_built_is_absent():
    cand = Candidate("Cand-1", "cand-1", 1)
    running = LabStatus(cand, {"dc1": "RUNNING", "client1": "RUNNING"})
    degraded = LabStatus(cand, {"dc1": "RUNNING", "zbx1": "UNREACHABLE", "client1": "STOPPED"})
    never_built = LabStatus(cand, None)
    removed = LabStatus(cand, {"dc1": "ABSENT", "client1": "ABSENT"})
    unreadable = LabStatus(cand, {}, problem="the lab cand-1 runs scenario bloc2-inventaire, not bloc1-integration")
    assert (running.running_share, running.summary(), running.all_running) == ("2/2", "", True)
    assert (degraded.running_share, degraded.summary()) == ("1/3", "zbx1 UNREACHABLE, client1 STOPPED")
    assert (never_built.running_share, never_built.summary()) == ("-", "absent")
    assert removed.summary() == "absent" and unreadable.summary().startswith("the lab cand-1 runs")
    assert labsession.status_exit_code([running, running]) == 0
    for other in (degraded, never_built, removed, unreadable):
        assert labsession.status_exit_code([running, other]) == 1


def test_statuses_are_read_in_parallel_and_listed_in_the_files_order():
    lock, now, peak = threading.Lock(), [0], [0]

    def read(candidate):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        return LabStatus(candidate, {"dc1": "RUNNING"})

    statuses = labsession.read_statuses(candidates(8), read, jobs=4)
    assert [s.candidate.lab for s in statuses] == [c.lab for c in candidates(8)] and peak[0] == 4


def test_status_of_a_lab_never_built_asks_no_provider(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path))
    assert labsession.read_status("bloc1-integration", Candidate("Cand-1", "cand-1", 1)).summary() == "absent"


# --- the command line --------------------------------------------------------------------------------------------

def test_session_help_says_what_it_does():
    result = subprocess.run([*LABGRADER, "session", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for words in ("one per candidate", "--candidates FILE", "--jobs N", "Ctrl-C", "session-SCENARIO/ID.log"):
        assert words in result.stdout


def test_a_bad_candidates_file_is_one_line_and_starts_nothing(tmp_path):
    path = candidates_file(tmp_path, "cand-1\nCAND-1\n")
    result = subprocess.run([*LABGRADER, "session", "up", "bloc1-integration", "--candidates", str(path)],
                            capture_output=True, text=True, env=dict(os.environ, LABGRADER_STATE=str(tmp_path)))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"{path}: line 2: 'CAND-1' is listed twice (first on line 1)" in result.stderr
    assert not (tmp_path / "logs").exists()


def test_session_up_runs_one_labgrader_up_per_candidate_and_reports_each_failure_with_its_log(tmp_path):
    # An unknown profile makes every `labgrader up` child fail at once, before anything is built: the whole
    # path (children, logs, progress, summary, exit code) without a lab.
    path = candidates_file(tmp_path, "Cand-1\ncand-2\ncand-3\n")
    result = subprocess.run([*LABGRADER, "session", "up", "bloc1-integration", "--candidates", str(path),
                             "--profile", "no-such-profile", "--jobs", "2"], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, LABGRADER_STATE=str(tmp_path), COLUMNS="200"))
    assert result.returncode == 3, result.stderr
    logs = tmp_path / "logs" / "session-bloc1-integration"
    for lab in ("cand-1", "cand-2", "cand-3"):
        assert f"{lab}: failed (exit 2) in " in result.stderr and str(logs / f"{lab}.log") in result.stderr
        log = (logs / f"{lab}.log").read_text()
        assert f"up bloc1-integration --name {lab} --profile no-such-profile" in log
        assert "no profile 'no-such-profile'" in log
    assert "0/3 labs up" in result.stdout and "Cand-1" in result.stdout


def test_ctrl_c_on_session_up_ends_the_running_labs_and_names_them(tmp_path):
    # The real command line with each lab's `labgrader up` replaced by a child that records its PID and waits.
    path = candidates_file(tmp_path, "cand-1\ncand-2\ncand-3\n")
    fake_up = ("import sys; from labgrader import cli, labsession\n"
               "labsession.lab_argv = lambda action, scenario, c, **_: "
               f"['sh', '-c', 'echo $$ > {tmp_path}/' + c.lab + '.pid; exec sleep 30']\n"
               "sys.exit(cli.main(sys.argv[1:]))\n")
    session = subprocess.Popen([sys.executable, "-c", fake_up, "session", "up", "bloc1-integration", "--candidates",
                                str(path), "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, LABGRADER_STATE=str(tmp_path), COLUMNS="200"))
    pid_files = [tmp_path / "cand-1.pid", tmp_path / "cand-2.pid"]
    deadline = time.monotonic() + 30
    while not all(p.is_file() and p.read_text().strip() for p in pid_files) and time.monotonic() < deadline:
        time.sleep(0.05)
    session.send_signal(signal.SIGINT)
    stdout, stderr = session.communicate(timeout=30)
    assert session.returncode == 130, stderr
    assert all(_gone(int(p.read_text())) for p in pid_files), "the running children are ended"
    assert not (tmp_path / "cand-3.pid").exists(), "no lab is started once interrupted"
    assert "interrupted: no further lab is started; stopping the 2 running" in stderr
    assert "interrupted while working on cand-1, cand-2: they may be half-built" in stdout
    assert "0/3 labs up" in stdout

"""The grader's SSH client against a hostile SSH server (issue 8), without a lab.

A real SSH server on 127.0.0.1 (paramiko's server mode, tests/unit/hostile_ssh_server.py) that stalls, floods,
closes without an exit status, prints escape sequences, shows another host key or refuses sudo. Whatever it
does, the grader ends within its bound with either an answer or a RemoteError (never a hang, never a verdict
made up from a missing answer), and what it shows the evaluator is inert."""
from __future__ import annotations

import threading
import time
import tracemalloc
from types import SimpleNamespace

import paramiko
import pytest

from labgrader.plugin import _message
from labgrader.remote import ssh
from labgrader.remote.base import CommandFailed, HostUnreachable, RemoteError
from labgrader.remote.evidence import Recorder
from labgrader.remote.hostkeys import HostKeyRefused, PinnedHostKey, fingerprint
from labgrader.remote.ssh import MAX_CAPTURE, CommandTimeout, SshHost, try_logon
from labgrader.report.html import _detail

from .hostile_ssh_server import (PASSWORD, SUDO_OK, USER, HostileSshServer, answers, closes_without_status,
                                 drops_the_connection, eof_then_silence, floods, floods_forever, host_key, stalls,
                                 sudo_refuses)

SLACK_S = 3.0  # how far past its own timeout a call may end (the poll interval, closing the channel…)
pytestmark = pytest.mark.timeout(30)  # a regression to a hang fails here instead of holding the run
CONTROL = {chr(c) for c in (*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0))}


@pytest.fixture
def lab(monkeypatch):
    """Starts hostile servers and connects SshHosts to them; at the end, every host is closed, every server
    stopped, and no thread started by the test (server, transport, bounded request) is left running."""
    monkeypatch.setattr(ssh, "CONNECT_TIMEOUT_S", 2)  # connection, channel opening and the exec request bound
    before = set(threading.enumerate())
    servers: list[HostileSshServer] = []
    hosts: list[SshHost] = []

    def start(behaviour, **options) -> HostileSshServer:
        server = HostileSshServer(behaviour, **options)
        servers.append(server)
        return server

    def connect(server: HostileSshServer, *, pin: str | None = None, recorder: Recorder | None = None) -> SshHost:
        host = SshHost("client1", "127.0.0.1", user=USER, port=server.port, password=PASSWORD,
                       host_keys=pinned(server, pin), recorder=recorder or Recorder((PASSWORD,)))
        hosts.append(host)
        return host

    yield SimpleNamespace(start=start, connect=connect)
    for host in hosts:
        host.close()
    for server in servers:
        leftover = server.stop()
        assert not leftover, f"the hostile server did not shut down: {leftover}"
    deadline = time.monotonic() + 5
    while (started := [t for t in set(threading.enumerate()) - before if t.is_alive()]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not started, f"threads left running after the test (a connection held open?): {started}"


def pinned(server: HostileSshServer, pin: str | None = None) -> PinnedHostKey:
    return PinnedHostKey("client1", server.port, pin=pin or fingerprint(server.key), known_hosts=None,
                         trust_on_first_use=False)


def no_control_characters(text: str) -> bool:
    return not CONTROL & set(text)


# 1. A machine that stalls.

def test_a_command_that_never_answers_is_a_timeout_within_its_bound(lab):
    host = lab.connect(lab.start(stalls))
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="aucun code de sortie en 1 s") as raised:
        host.run("systemctl is-active sshd", timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_S, f"a 1 s command took {elapsed:.1f} s to give up"
    assert "client1" in str(raised.value), "the error names the machine"
    assert host.recorder.entries[-1].detail.startswith("timeout:"), "the timeout is part of the evidence"


def test_a_server_that_never_answers_the_exec_request_is_unreachable_within_the_request_bound(lab):
    server = lab.start(stalls, stall_exec_reply=True)
    host = lab.connect(server)
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="did not answer the command request") as raised:
        host.run("id", timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < ssh.CONNECT_TIMEOUT_S + SLACK_S, f"the request bound was not kept ({elapsed:.1f} s)"
    assert "client1" in str(raised.value), "the error names the machine"
    assert server.commands, "the server did receive the request it never answered"


def test_a_machine_that_never_reads_a_script_on_its_standard_input_is_a_timeout_not_a_hang(lab):
    # The server's window is the smallest SSH allows (32 KiB) and it never reads: sending blocks at once.
    host = lab.connect(lab.start(stalls, window=1 << 15))
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="client1"):
        host.run_script("gros script", "echo x\n" * 40_000, timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_S, f"sending the script held the grader {elapsed:.1f} s"


def test_a_command_that_floods_forever_without_an_exit_status_still_times_out(lab):
    host = lab.connect(lab.start(floods_forever))
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        host.run("yes", sudo=False, timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_S, f"an endless output held the grader {elapsed:.1f} s"


def test_a_connection_that_breaks_while_the_grader_closes_a_timed_out_command_is_still_a_timeout(lab, monkeypatch):
    # Seen once in CI: the server flooding when the deadline came, closing the channel met a broken pipe, and the
    # error of the closing hid the timeout (the check became "unreachable").
    host = lab.connect(lab.start(floods_forever))
    host.client  # connect before closing breaks
    monkeypatch.setattr(paramiko.Channel, "close", lambda self: (_ for _ in ()).throw(EOFError()))
    with pytest.raises(CommandTimeout):
        host.run("yes", sudo=False, timeout=1)


def test_a_password_logon_that_is_neither_accepted_nor_refused_is_unreachable_not_refused(lab, monkeypatch):
    monkeypatch.setattr(ssh, "LOGON_TIMEOUT_S", 1)
    server = lab.start(stalls, stall_auth=True)
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="aucune réponse"):
        try_logon("client1", "127.0.0.1", "alice", "secret", port=server.port, host_keys=pinned(server),
                  recorder=Recorder())
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_S, f"the logon bound was not kept ({elapsed:.1f} s)"


# 2. A machine that floods.

def flood_peak(lab, stdout_bytes: int) -> tuple[object, int, SshHost]:
    """The result of a command flooding stdout (and 3 MiB of stderr), and the most memory held meanwhile."""
    host = lab.connect(lab.start(floods(stdout_bytes, 3 << 20)))
    host.client  # connected before measuring: only the command counts
    tracemalloc.start()
    try:
        result = host.run("cat /dev/urandom", timeout=60)
        return result, tracemalloc.get_traced_memory()[1], host
    finally:
        tracemalloc.stop()


def test_a_flood_on_both_streams_is_capped_head_and_tail_kept_and_still_an_answer(lab):
    result, peak, host = flood_peak(lab, 20 << 20)
    assert result.ok, f"a flood that ends with exit 0 is an answer, not a failure: {result.exit_status}"
    sent_stderr = len(f"{SUDO_OK}\n") + (3 << 20)  # the shell's sudo marker, removed after the capture
    for name, text, size in (("stdout", result.stdout, 20 << 20), ("stderr", result.stderr, sent_stderr)):
        assert len(text) < MAX_CAPTURE + 100, f"{name} is not capped: {len(text)} characters kept"
        assert text.startswith(f"DEBUT-{name.upper()}"), f"the head of {name} is kept"
        assert text.endswith(f"FIN-{name.upper()}\n"), f"the tail of {name} is kept"
        assert f"[… {size - MAX_CAPTURE} octets omis …]" in text, f"the bytes dropped from {name} are counted"
    detail = host.recorder.entries[-1].detail
    assert detail.startswith("exit 0"), f"the evidence shows the exit status: {detail[:40]!r}"
    assert "omis" in detail, "the evidence says that output was left out"
    # What the grader holds depends on MAX_CAPTURE, not on how much the machine sends.
    _, smaller_peak, _ = flood_peak(lab, 4 << 20)
    assert peak < 23 << 20, f"the grader held {peak >> 20} MiB for a 23 MiB flood"
    assert peak - smaller_peak < 2 << 20, \
        f"memory grows with the flood: {smaller_peak >> 20} MiB for 4 MiB, {peak >> 20} MiB for 20 MiB"


# 3. A machine that closes without an exit status.

def test_a_channel_closed_without_an_exit_status_is_an_error_not_an_exit_code(lab):
    host = lab.connect(lab.start(closes_without_status))
    started = time.monotonic()
    with pytest.raises(RemoteError, match="client1") as raised:
        host.run("systemctl is-active sshd", timeout=30)
    assert time.monotonic() - started < SLACK_S, "a closed channel is known at once, not at the deadline"
    assert not isinstance(raised.value, CommandFailed), "no exit status is not a command that failed"


def test_an_eof_without_an_exit_status_is_a_timeout_within_its_bound(lab):
    host = lab.connect(lab.start(eof_then_silence))
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        host.run("systemctl is-active sshd", timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_S, f"an EOF without exit status held the grader {elapsed:.1f} s"


def test_a_machine_that_drops_the_connection_mid_command_is_unreachable(lab):
    host = lab.connect(lab.start(drops_the_connection))
    with pytest.raises(HostUnreachable, match="client1"):
        host.run("systemctl is-active sshd", timeout=5)


def test_a_logon_whose_session_closes_without_an_exit_status_is_no_verdict(lab):
    server = lab.start(closes_without_status)
    with pytest.raises(RemoteError):
        try_logon("client1", "127.0.0.1", USER, PASSWORD, port=server.port, host_keys=pinned(server),
                  recorder=Recorder())


# 4. A machine that prints markup and escape sequences.

HOSTILE_OUTPUT = (b"[/red][bold]gras[/bold] <script>alert(1)</script> \x1b[2J\x1b]52;c;SGVsbG8=\x07"
                  b" retour\rchariot nul\x00 csi-c1 \xc2\x9b31m invalide \xff\xfe fin\n")


def test_escape_sequences_in_the_output_reach_the_evidence_and_the_report_inert(lab):
    host = lab.connect(lab.start(answers(HOSTILE_OUTPUT, HOSTILE_OUTPUT, 0)))
    result = host.run("cat /etc/motd", timeout=5)
    assert "\x1b]52;" in result.stdout, "the raw result keeps what the machine sent (the checks judge it)"
    detail = host.recorder.entries[-1].detail
    assert no_control_characters(detail), f"a control character reached the evidence: {detail!r}"
    for shown in ("\\x1b[2J", "\\x1b]52;c;SGVsbG8=\\x07", "retour\\x0dchariot", "nul\\x00", "\\x9b31m", "[/red]"):
        assert shown in detail, f"the evidence shows {shown!r} as text: {detail!r}"
    page = _detail(detail)
    assert no_control_characters(page), "a control character reached the HTML report"
    assert "<script>" not in page and "&lt;script&gt;" in page, "the HTML report escapes the markup"


def test_escape_sequences_in_a_failed_query_reach_the_grid_message_inert(lab):
    # CommandFailed quotes stderr's last line (str.splitlines also breaks at \r): the sequences are on it.
    stderr = b"cat: /etc/motd: [/red] \x1b]52;c;SGVsbG8=\x07 \x1b[2J nul\x00 \xc2\x9b31m\n"
    host = lab.connect(lab.start(answers(HOSTILE_OUTPUT, stderr, 3)))
    call = pytest.CallInfo.from_call(lambda: host.check_output("cat /etc/motd", timeout=5), when="call")
    assert call.excinfo is not None and call.excinfo.errisinstance(CommandFailed), \
        f"a non-zero query is CommandFailed: {call.excinfo}"
    message = _message(call, SimpleNamespace(session=SimpleNamespace(recorder=host.recorder)), "error")
    assert no_control_characters(message), f"a control character reached the grid: {message!r}"
    for shown in ("[/red]", "\\x1b]52;c;SGVsbG8=\\x07", "\\x1b[2J", "nul\\x00", "\\x9b31m"):
        assert shown in message, f"the grid shows {shown!r} as text: {message!r}"
    assert no_control_characters(host.recorder.entries[-1].detail), "and the evidence is inert too"


# 5. A machine that shows another host key.

def test_another_host_key_is_refused_before_any_password_is_sent(lab):
    server = lab.start(answers(b"root\n"))
    host = lab.connect(server, pin=fingerprint(host_key()))
    with pytest.raises(HostKeyRefused, match="n'est pas celle de l'inventaire") as raised:
        host.run("id", timeout=5)
    assert fingerprint(server.key) in str(raised.value), "the error names the key the machine showed"
    assert server.auth_offers == [] and server.passwords == [], \
        f"nothing may be sent to a machine with another key: {server.auth_offers}"
    assert "host key refused" in host.recorder.entries[-1].detail, "the refusal is part of the evidence"
    with pytest.raises(RemoteError, match="n'est pas celle"):
        host.run("id", timeout=5)  # the other checks of this host need not connect again
    assert len(server.commands) == 0, "no command reached the machine"


def test_a_logon_to_a_machine_with_another_host_key_sends_no_password(lab):
    server = lab.start(answers(b"uid=1000(alice)\n"))
    with pytest.raises(HostKeyRefused):
        try_logon("client1", "127.0.0.1", "alice", "secret-d-alice", port=server.port,
                  host_keys=pinned(server, fingerprint(host_key())), recorder=Recorder())
    assert server.passwords == [], f"the candidate's password was sent to an unknown machine: {server.passwords}"


def test_a_refused_key_or_password_leaves_no_connection_open_on_the_machine(lab):
    # sshd counts unauthenticated connections against MaxStartups until its LoginGraceTime (2 min): a run of
    # refused logons left open would get the next connections dropped, and the checks would become errors.
    server = lab.start(answers(b"uid=1000(alice)\n"))
    with pytest.raises(HostKeyRefused):
        lab.connect(server, pin=fingerprint(host_key())).run("id", timeout=5)
    assert server.open_connections(wait=2) == 0, "the connection to a machine with another key stays open"
    for attempt in range(3):
        refused = try_logon("client1", "127.0.0.1", "alice", f"mauvais-{attempt}", port=server.port,
                            host_keys=pinned(server), recorder=Recorder())
        assert not refused.accepted, f"a wrong password is refused: {refused}"
    assert server.open_connections(wait=2) == 0, "refused logons leave their connections open"
    assert len(server.passwords) == 3, f"each logon sent its password once: {server.passwords}"


# 6. A sudo that refuses.

def test_a_sudo_that_asks_for_a_password_is_a_refusal_not_an_empty_success(lab):
    server = lab.start(sudo_refuses)
    host = lab.connect(server)
    with pytest.raises(CommandFailed, match="sudo -n refusé au compte evaluateur") as raised:
        host.run("systemctl is-active sshd", timeout=5)
    assert "a password is required" in str(raised.value), "the error shows sudo's own words"
    assert server.commands[-1].startswith("sudo -n /bin/sh -c "), "the command did go through sudo -n"
    with pytest.raises(CommandFailed, match="sudo -n refusé"):
        host.run_script("script", "echo ok\n", timeout=5)


def test_a_sudo_that_agrees_gives_the_command_its_own_stderr(lab):
    host = lab.connect(lab.start(answers(b"active\n", b"warning\n", 0)))
    result = host.run("systemctl is-active sshd", timeout=5)
    assert (result.stdout, result.stderr, result.exit_status) == ("active\n", "warning\n", 0), \
        f"the sudo marker is not part of the command's output: {result}"

"""A1.2's facts without a lab: what the parsers make of real outputs, and what the SMB and LDAP helpers call an
answer (a refusal, with its reason) versus no answer."""
from __future__ import annotations

import subprocess

import pytest

from labgrader.remote import smb, workstation_a12 as facts
from labgrader.remote.base import HostUnreachable
from labgrader.remote.evidence import Recorder
from labgrader.remote.ldap import BindAnswer, bind_code, group_kind

HOST_SRV_FROM_DC = """Trying "_ldap._tcp.durand.test"
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 63418
;; flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 1, ADDITIONAL: 0

;; QUESTION SECTION:
;_ldap._tcp.durand.test.\t\tIN\tSRV

;; ANSWER SECTION:
_ldap._tcp.durand.test.\t900\tIN\tSRV\t0 100 389 dc1.durand.test.

;; AUTHORITY SECTION:
durand.test.\t\t3600\tIN\tSOA\tdc1.durand.test. hostmaster.durand.test. 1 900 600 86400 3600

Received 111 bytes from 192.168.56.10#53 in 0 ms
"""
HOST_NO_SERVER = """Trying "_ldap._tcp.durand.test"
;; connection timed out; no servers could be reached
"""
HOST_NXDOMAIN = """Trying "_ldap._tcp.durand.test"
Host _ldap._tcp.durand.test not found: 3(NXDOMAIN)
Received 104 bytes from 192.168.56.1#53 in 4 ms
"""
CHRONYC = """MS Name/IP address         Stratum Poll Reach LastRx Last sample
===============================================================================
^* 192.168.56.10                 8   6    17    10   +120ns[ +300ns] +/-  120us
^? 192.168.56.2                  0   6     0     -     +0ns[   +0ns] +/-    0ns
"""


def test_an_srv_answer_names_its_targets_and_the_server_that_answered():
    answer = facts.parse_host_srv("_ldap._tcp.durand.test", HOST_SRV_FROM_DC)
    assert answer.targets == ("dc1.durand.test",) and answer.server == "192.168.56.10" and not answer.no_server


def test_no_dns_server_and_an_unknown_record_are_different_answers():
    silent = facts.parse_host_srv("_ldap._tcp.durand.test", HOST_NO_SERVER)
    assert silent.no_server and not silent.targets and silent.server == ""
    unknown = facts.parse_host_srv("_ldap._tcp.durand.test", HOST_NXDOMAIN)
    assert not unknown.no_server and not unknown.targets and unknown.server == "192.168.56.1"


def test_nameservers_are_read_in_order():
    conf = "# généré\nsearch durand.test\nnameserver 192.168.56.2\nnameserver 192.168.56.10\n"
    assert facts.parse_nameservers(conf) == ["192.168.56.2", "192.168.56.10"]


def test_chrony_follows_only_its_starred_source():
    assert facts.parse_chrony_sources(CHRONYC) == ("192.168.56.10", ["192.168.56.10", "192.168.56.2"])
    assert facts.parse_chrony_sources(CHRONYC.replace("^*", "^?"))[0] == ""


@pytest.mark.parametrize("first, stratum, serves", [(0x24, 8, True), (0xE4, 0, False), (0xE4, 8, False),
                                                    (0x24, 16, False)])
def test_an_ntp_reply_serves_time_only_when_synchronised(first, stratum, serves):
    leap, mode, parsed = facts.parse_ntp_reply(bytes([first, stratum]) + b"\0" * 46)
    assert mode == 4 and parsed == stratum
    assert facts.NtpAnswer("dc", "192.168.56.1", True, parsed, leap).serves_time is serves
    assert not facts.NtpAnswer("dc", "192.168.56.1", False).serves_time


def test_a_short_reply_is_not_ntp():
    with pytest.raises(ValueError):
        facts.parse_ntp_reply(b"\x24\x08")


@pytest.mark.parametrize("printed, value", [("1.5", 1.5), ("double 1.5", 1.5), ("'1.50'", 1.5), ("1", 1.0),
                                            ("true", None), ("", None)])
def test_gsettings_numbers_are_compared_as_numbers(printed, value):
    assert facts.as_number(printed) == value


def test_the_grader_is_in_the_network_of_the_brief_or_not():
    assert facts.in_network("192.168.56.1", "192.168.56.0/24")
    assert not facts.in_network("10.0.0.5", "192.168.56.0/24") and not facts.in_network("", "192.168.56.0/24")


@pytest.mark.parametrize("message, code, reason, right", [
    ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1", "52e",
     "mot de passe refusé", False),
    ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1", "773",
     "mot de passe à changer à la première connexion", True),
    ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1", "533",
     "compte désactivé", False),
    ("", "", "refusé", False)])
def test_a_refused_bind_says_why(message, code, reason, right):
    answer = BindAnswer(False, bind_code(message))
    assert (answer.code, answer.reason, answer.password_right) == (code, reason, right)
    assert BindAnswer(True).password_right and BindAnswer(True).reason == "accepté"


@pytest.mark.parametrize("group_type, kind", [(-2147483646, (True, "global")), (2, (False, "global")),
                                              (-2147483644, (True, "domain local")), (8, (False, "universal"))])
def test_group_types_tell_security_from_distribution(group_type, kind):
    assert group_kind(group_type) == kind


def fake_smbclient(monkeypatch, answers):
    """smbclient replaced by canned (exit, output) answers; returns the argv and environments it was given."""
    calls = []

    def run(argv, env, **kwargs):
        calls.append((argv, env))
        status, output = answers.pop(0)
        return subprocess.CompletedProcess(argv, status, output, "")
    monkeypatch.setattr(smb.subprocess, "run", run)
    return calls


def test_an_anonymous_session_sends_no_user_and_no_password(monkeypatch):
    calls = fake_smbclient(monkeypatch, [(1, "Anonymous login successful\ntree connect failed: NT_STATUS_ACCESS_DENIED")])
    access = smb.SmbClient(Recorder()).access("192.168.56.10", "rh", "", "", domain="DURAND")
    assert not access.listed and access.refusal == "accès refusé"
    argv, env = calls[0]
    assert "-N" in argv and "-U" not in argv and "-W" not in argv and env["PASSWD"] == ""


def test_a_user_session_passes_the_password_in_the_environment_only(monkeypatch):
    calls = fake_smbclient(monkeypatch, [(0, "  .  D 0  Tue Dec  1 00:00:48 2026"),
                                         (1, "NT_STATUS_ACCESS_DENIED opening remote file \\labgrader-essai.txt")])
    access = smb.SmbClient(Recorder()).access("192.168.56.10", "commun", "bdupont", "s3cret!", domain="DURAND",
                                              write=True)
    assert access.listed and access.wrote is False and access.refusal == "accès refusé"
    argv, env = calls[0]
    assert argv[argv.index("-U") + 1] == "bdupont" and argv[argv.index("-W") + 1] == "DURAND"
    assert "s3cret!" not in " ".join(argv) and env["PASSWD"] == "s3cret!"


def test_a_server_that_does_not_answer_is_not_a_refusal(monkeypatch):
    fake_smbclient(monkeypatch, [(1, "do_connect: Connection to 192.168.56.10 failed (Error NT_STATUS_IO_TIMEOUT)")])
    with pytest.raises(HostUnreachable):
        smb.SmbClient(Recorder()).access("192.168.56.10", "commun", "bdupont", "x", domain="DURAND")


def test_silence_on_the_ntp_port_is_an_answer(monkeypatch):
    monkeypatch.setattr(facts, "NTP_TIMEOUT_S", 0.05)
    answer = facts.ntp_probe("127.0.0.1", Recorder())  # nothing serves NTP on the loopback of a test machine
    assert not answer.answered and not answer.serves_time

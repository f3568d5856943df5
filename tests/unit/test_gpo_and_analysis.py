"""The pure parts of the GPO facts (SYSVOL files, sssd's cache) and of the evaluator's ShellCheck: no lab."""
from __future__ import annotations

import codecs
import shutil
import struct

import pytest

from labgrader.remote import analysis, gpo
from labgrader.remote.base import ProtocolError, RemoteError
from labgrader.remote.evidence import Recorder

SID = "S-1-5-21-2141419114-1401446316-3339009800-1104"
TEMPLATE = ('[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n'
            f"[Privilege Rights]\r\nSeDenyRemoteInteractiveLogonRight = *S-1-5-32-546,*{SID}\r\n"
            "SeDenyInteractiveLogonRight = *S-1-5-32-546\r\n")


# --- SYSVOL files -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda t: t.encode("ascii"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),                     # Windows: UTF-16 LE with its BOM
    lambda t: t.encode("utf-16-le"),                  # no BOM
], ids=["ascii", "utf8-bom", "utf16-bom", "utf16le"])
def test_a_template_reads_the_same_in_every_encoding_windows_or_samba_writes(encode):
    template = gpo.parse_inf(gpo.decode_text(encode(TEMPLATE)))
    assert gpo.privilege(template, "SeDenyRemoteInteractiveLogonRight") == ["*S-1-5-32-546", f"*{SID}"]
    assert gpo.privilege(template, "sedenyinteractivelogonright") == ["*S-1-5-32-546"]
    assert gpo.privilege(template, "SeDenyNetworkLogonRight") == []


def test_a_template_tolerates_comments_spaces_and_lf_line_ends():
    text = "; written by hand\n[privilege rights]\n  SeDenyRemoteInteractiveLogonRight=DURAND\\GG_Atelier ,  *S-1-5-32-546\n"
    assert gpo.privilege(gpo.parse_inf(text), "SeDenyRemoteInteractiveLogonRight") == \
        ["DURAND\\GG_Atelier", "*S-1-5-32-546"]
    assert gpo.written_keys(text, "Privilege Rights") == ["SeDenyRemoteInteractiveLogonRight"]


@pytest.mark.parametrize("entry, expected", [
    (f"*{SID}", True), (f"*{SID.lower()}", True), (SID, True), ("GG_Atelier", True), ("gg_atelier", True),
    ("DURAND\\GG_Atelier", True), ("durand.test\\GG_Atelier", True), ("AUTRE\\GG_Atelier", False),
    ("*S-1-5-32-546", False), ("GG_Comptabilite", False), (f"*{SID}0", False),
])
def test_a_privilege_entry_names_the_group_by_sid_or_name(entry, expected):
    assert gpo.names_group(entry, sid=SID, name="GG_Atelier", netbios="DURAND", domain="durand.test") is expected


def test_only_a_sid_counts_where_sssd_applies_the_policy():
    assert gpo.names_group_by_sid(f"*{SID}", SID) and gpo.names_group_by_sid(SID, SID)
    assert not gpo.names_group_by_sid("DURAND\\GG_Atelier", SID)


def test_gpt_ini_and_versions():
    assert gpo.gpt_ini_version("[General]\r\nVersion=65539\r\n") == 65539
    assert gpo.gpt_ini_version("[General]\r\ndisplayName=x\r\n") is None
    assert gpo.gpt_ini_version("[General]\r\nVersion=abc\r\n") is None
    assert gpo.machine_version(65539) == 3 and gpo.machine_version("65536") == 0 and gpo.machine_version(None) == 0


def test_the_security_extension_is_found_only_as_a_cse():
    both = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]" \
           "[{827d319e-6eac-11d2-a4ea-00c04f79f83a}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
    assert gpo.has_security_extension(both)
    assert gpo.extensions(both)[1][0] == gpo.SECURITY_CSE
    # The security snap-in listed as a tool of another extension does not make the security CSE run.
    assert not gpo.has_security_extension(f"[{{35378EAC-683F-11D2-A89A-00C04FBBCFA2}}{gpo.SECURITY_CSE}]")
    assert not gpo.has_security_extension("") and not gpo.has_security_extension(None)


def test_a_sysvol_path_becomes_a_share_and_a_path():
    assert gpo.sysvol_location("\\\\durand.test\\SysVol\\durand.test\\Policies\\{0F50}") == \
        ("SysVol", "durand.test\\Policies\\{0F50}")
    with pytest.raises(ProtocolError):
        gpo.sysvol_location("\\\\durand.test")


def test_an_object_sid_reads_from_its_binary_form():
    subs = [21, 2141419114, 1401446316, 3339009800, 1104]
    raw = bytes([1, len(subs)]) + (5).to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)
    assert gpo.sid_text(raw) == SID
    assert gpo.sid_text(SID) == SID and gpo.sid_text(None) == ""


# --- sssd's cache on the workstation ------------------------------------------------------------------------

LDIF = f"""asq: Unable to register control with rootdse!
# record 1
dn: cn=gpo_result,cn=gpos,cn=ad,cn=custom,cn=durand.test,cn=sysdb
objectClass: gpo_result
SeDenyRemoteInteractiveLogonRight: *S-1-5-21-2141419114-1401446316-3339009800-
 1104
distinguishedName: cn=gpo_result,cn=gpos,cn=ad,cn=custom,cn=durand.test,cn=sys
 db

# record 2
dn: gpoGUID={{0F5069B9-4838-45D9-A6D7-DD62A341F247}},cn=gpos,cn=ad,cn=custom,cn=durand.test,cn=sysdb
gpoGUID: {{0f5069b9-4838-45d9-a6d7-dd62a341f247}}
gpoPolicyFileTimeout: 1796083194
gpoVersion: 3
objectClass: gpo

# record 3
dn:: {__import__('base64').b64encode(b'gpoGUID={31B2F340-016D-11D2-945F-00C04FB984F9},cn=sysdb').decode()}
gpoGUID: {{31B2F340-016D-11D2-945F-00C04FB984F9}}
gpoVersion: 0
objectClass: gpo

# returned 3 records
"""


def test_sssd_cache_entries_say_what_is_enforced_and_what_was_downloaded():
    entries = gpo.parse_ldif(LDIF)
    assert len(entries) == 3
    assert entries[2]["dn"] == ["gpoGUID={31B2F340-016D-11D2-945F-00C04FB984F9},cn=sysdb"]
    policy = gpo.client_policy(entries)
    assert policy.applied_right("SeDenyRemoteInteractiveLogonRight") == [f"*{SID}"]
    assert policy.downloaded == {"{0F5069B9-4838-45D9-A6D7-DD62A341F247}": 3,
                                 "{31B2F340-016D-11D2-945F-00C04FB984F9}": 0}


def test_no_gpo_result_means_nothing_is_enforced():
    policy = gpo.client_policy(gpo.parse_ldif("# record 1\ndn: gpoGUID={A},cn=sysdb\nobjectClass: gpo\n"
                                              "gpoGUID: {A}\ngpoVersion: x\n"))
    assert policy.applied == {} and policy.applied_right("SeDenyRemoteInteractiveLogonRight") == []
    assert policy.downloaded == {"{A}": -1}


# --- the evaluator's ShellCheck -----------------------------------------------------------------------------

def test_every_shellcheck_directive_is_neutralised_in_place_and_reported():
    text = ("#!/bin/bash\n# shellcheck disable=SC2086\nx=$1\necho $x  # shellcheck disable=SC2086\n"
            "#shellcheck source=/dev/null\n# ShellCheck ne signale rien sur ce script\n")
    copy, found = analysis.neutralise_directives(text)
    assert [n for n, _ in found] == [2, 4, 5]
    assert found[0][1] == "# shellcheck disable=SC2086"
    assert copy.count("\n") == text.count("\n")  # line numbers kept
    assert "shellcheck disable" not in copy and "shellcheck source" not in copy
    assert "# ShellCheck ne signale rien sur ce script" in copy  # prose is no directive


def test_shellcheck_json_becomes_findings_without_remarks_about_the_analysis_itself():
    output = ('{"comments":[{"file":"-","line":3,"column":7,"level":"warning","code":2154,"message":"x is referenced '
              'but not assigned."},{"file":"-","line":2,"column":8,"level":"info","code":1091,"message":"Not '
              'following: ./lib.sh"}]}')
    findings = analysis.parse_json1(output)
    assert [(f.line, f.code) for f in findings] == [(3, 2154)]
    assert findings[0].french() == "ligne 3 SC2154 (avertissement) : x is referenced but not assigned"
    with pytest.raises(RemoteError):
        analysis.parse_json1("not json")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by scripts/install")
def test_the_graders_shellcheck_ignores_directives_and_rc_files(tmp_path, monkeypatch):
    (tmp_path / ".shellcheckrc").write_text("disable=all\n")
    monkeypatch.chdir(tmp_path)
    recorder = Recorder()
    report = analysis.shellcheck("#!/bin/bash\n# shellcheck disable=SC2086\necho $1\n", shown_as="s.sh",
                                 host="dc1", recorder=recorder)
    assert [f.code for f in report.findings] == [2086]
    assert report.directives == ((2, "# shellcheck disable=SC2086"),)
    assert any("ligne 2" in e.detail for e in recorder.entries)
    clean = analysis.shellcheck('#!/bin/bash\nset -eu\necho "$1"\n', shown_as="s.sh", host="dc1", recorder=recorder)
    assert clean.findings == () and clean.directives == ()

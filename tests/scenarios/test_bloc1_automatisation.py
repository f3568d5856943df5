"""bloc1-automatisation (A1.3) for real: the self-test, partial states each breaking exactly one criterion, and
near misses: the work looks done but is not, and the check that judges that fact must fail (asserted at check
level); where a correct setup can take another shape, every check passes. Near misses that touch different
checks share one grid run; each is put back by `broken`."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-automatisation")
AUTOMATED = ("A1.3/CE.1", "A1.3/CE.2", "A1.3/CE.4")
SCRIPT = "/srv/automatisation/creer-comptes.sh"
LIST = "/srv/automatisation/arrivants.csv"
GUID = ("$(samba-tool gpo listall | awk '/^GPO/ {g=$3} "
        "/display name *: Restriction connexion distante Atelier/ {print g}')")
OU = "OU=Postes,OU=Durand,DC=durand,DC=test"
USERS_OU = "OU=Utilisateurs,OU=Durand,DC=durand,DC=test"
CREDS = "-U Administrator --password='Adm1n-Durand-2026!'"
SAM = "/var/lib/samba/private/sam.ldb"
GPO_DN = "CN=$g,CN=Policies,CN=System,DC=durand,DC=test"
SECURITY_CSE = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
# sssd on the workstation re-reads a GPO's files at most every 5 s (ad_gpo_cache_timeout): let that pass.
SETTLE = "sleep 6"

EXISTS, LINKED, IN_SYSVOL, APPLIED = ("test_the_requested_gpo_exists_and_is_enabled",
                                      "test_the_gpo_is_linked_to_the_ou_of_the_brief",
                                      "test_the_gpo_holds_the_requested_right_in_sysvol",
                                      "test_the_gpo_takes_effect_on_the_joined_workstation")
SHELLCHECK = "test_the_automation_script_passes_shellcheck"
CREATES, REPLAY = "test_the_script_creates_every_listed_account", "test_running_the_script_twice_changes_nothing"
EVERY_CHECK = (EXISTS, LINKED, IN_SYSVOL, APPLIED, SHELLCHECK, CREATES, REPLAY)


def relink(option: str = "", ou: str = OU) -> str:
    """setlink refuses a GPO already linked: drop the link, then link it again (disabled with --disable)."""
    return (f'g="{GUID}"; samba-tool gpo dellink "{OU}" "$g" {CREDS} >/dev/null 2>&1; '
            f'samba-tool gpo setlink "{ou}" "$g" {option} {CREDS}')


def unlink(ou: str) -> str:
    return f'g="{GUID}"; samba-tool gpo dellink "{ou}" "$g" {CREDS}'


def gpo_object(change: str) -> str:
    """One LDIF change of the GPO's object in the directory (e.g. `replace: flags\\nflags: 2`)."""
    return f'g="{GUID}"; printf "dn: {GPO_DN}\\nchangetype: modify\\n{change}\\n" | ldbmodify -H {SAM}'


def rights(line: str, *, utf16: bool = False, reset_acl: bool = True) -> str:
    """Rewrite the GPO's [Privilege Rights] with `line` ($atelier and $bdupont are those SIDs), publish a new
    version (LDAP and GPT.INI); UTF-16 with its BOM as Windows writes it; without reset_acl the new file keeps
    root-only rights, as when `samba-tool ntacl sysvolreset` is forgotten."""
    encode = " | iconv -f UTF-8 -t UTF-16" if utf16 else ""
    inf = '"$p/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"'
    acl = "samba-tool ntacl sysvolreset" if reset_acl else f"chmod 600 {inf} && setfacl -b {inf}"
    return (f'set -eu; g="{GUID}"; p="/var/lib/samba/sysvol/durand.test/Policies/$g"; '
            "atelier=$(wbinfo --name-to-sid 'DURAND\\GG_Atelier' | cut -d' ' -f1); "
            "bdupont=$(wbinfo --name-to-sid 'DURAND\\bdupont' | cut -d' ' -f1); "
            f'v=$(ldbsearch -H {SAM} -b "{GPO_DN}" -s base versionNumber | sed -n "s/^versionNumber: //p"); '
            "v=$((v + 1)); "
            f"rm -f {inf}; "
            "printf '[Unicode]\\r\\nUnicode=yes\\r\\n[Version]\\r\\nsignature=\"$CHICAGO$\"\\r\\nRevision=1\\r\\n"
            f"[Privilege Rights]\\r\\n%s\\r\\n' \"{line}\"{encode} > {inf}; "
            "printf '[General]\\r\\nVersion=%s\\r\\n' \"$v\" > \"$p/GPT.INI\"; "
            f'printf "dn: {GPO_DN}\\nchangetype: modify\\nreplace: versionNumber\\nversionNumber: %s\\n" "$v" '
            f"| ldbmodify -H {SAM} >/dev/null; {acl}; {SETTLE}")


RIGHTS_OF_THE_BRIEF = rights("SeDenyRemoteInteractiveLogonRight = *$atelier")


def script(text: str) -> str:
    """Put another script in the brief's place (the solved one saved)."""
    return f"cp -p {SCRIPT} /root/script.bak && cat > {SCRIPT} <<'SCRIPT'\n{text}SCRIPT\nchmod 0750 {SCRIPT}"


def edited(sed: str) -> str:
    """The solved script, edited by one sed expression (the solved one saved)."""
    return f"cp -p {SCRIPT} /root/script.bak && sed -i {sed} {SCRIPT}"


RESTORE_SCRIPT = f"cp -p /root/script.bak {SCRIPT}"

# Correct, written otherwise: POSIX sh, the existing accounts listed once, the OU path turned into RDNs by awk.
ANOTHER_CORRECT_SCRIPT = r"""#!/bin/sh
# Variante correcte : sh POSIX, liste des comptes lue une fois, OU calculée avec awk.
set -eu
comptes=$(samba-tool user list)
sed 1d /srv/automatisation/arrivants.csv | while IFS=';' read -r id prenom nom ou groupe; do
  [ -n "$id" ] || continue
  rdn=$(printf '%s\n' "$ou" | awk -F/ '{ s = ""; for (i = 1; i <= NF; i++) s = "OU=" $i (s == "" ? "" : "," s); print s }')
  if ! printf '%s\n' "$comptes" | grep -qxF "$id"; then
    samba-tool user add "$id" --random-password --must-change-at-next-login \
      --given-name="$prenom" --surname="$nom" --userou="$rdn"
  fi
  if ! samba-tool group listmembers "$groupe" | grep -qxF "$id"; then
    samba-tool group addmembers "$groupe" "$id"
  fi
done
"""
# Clean and rejouable, but written for the brief's three newcomers: it ignores the list.
HARD_CODED_SCRIPT = r"""#!/bin/bash
# Crée les comptes des arrivants.
set -euo pipefail
creer() {
  local id=$1 prenom=$2 nom=$3 groupe=$4
  if ! samba-tool user show "$id" > /dev/null 2>&1; then
    samba-tool user create "$id" --random-password --must-change-at-next-login \
      --given-name="$prenom" --surname="$nom" --userou="OU=Utilisateurs,OU=Durand"
  fi
  if ! samba-tool group listmembers "$groupe" | grep -qx "$id"; then
    samba-tool group addmembers "$groupe" "$id"
  fi
}
creer gleroy Gabriel Leroy GG_Atelier
creer hbernard Helene Bernard GG_Comptabilite
creer ivincent Ines Vincent GG_Atelier
"""


def expect(outcomes: dict[str, str], failed: tuple[str, ...]) -> None:
    """Exactly these checks failed, every other one passed."""
    assert outcomes == {check: "failed" if check in failed else "passed" for check in EVERY_CHECK}, outcomes


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=7)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}
    expect(solved.outcomes("solved"), failed=())
    # The grader's runs of the script leave the lab as found: no trial account, the candidate's list back.
    solved.run("dc1", "! samba-tool user show jmorel >/dev/null 2>&1 && ! samba-tool user show klegall >/dev/null 2>&1"
                      f" && grep -q '^gleroy;' {LIST} && ! ls /root/labgrader-liste-candidat.* 2>/dev/null")


# --- partial states: one criterion broken, the others still met -------------------------------------------------

def test_a_disabled_gpo_link_fails_the_gpo_criterion_only(solved):
    with solved.broken("dc1", relink("--disable"), relink()):
        assert solved.grid("link-disabled") == solved.only_not_met("A1.3/CE.1", AUTOMATED)
        assert solved.outcomes("link-disabled")[LINKED] == "failed"
        assert solved.outcomes("link-disabled")[APPLIED] == "failed"


def test_an_unquoted_expansion_fails_the_good_practice_criterion_only(solved):
    with solved.broken("dc1", f"cp {SCRIPT} /root/script.bak && echo 'echo Fin du traitement pour $USER' >> {SCRIPT}",
                       RESTORE_SCRIPT):
        assert solved.grid("shellcheck") == solved.only_not_met("A1.3/CE.2", AUTOMATED)
        assert solved.outcomes("shellcheck")[SHELLCHECK] == "failed"
        assert "SC2086" in solved.messages("shellcheck")[SHELLCHECK]


def test_a_script_that_fails_when_replayed_fails_the_reproducibility_criterion_only(solved):
    duplicate = "samba-tool user create doublon \"Doublon-Durand-2026!\""
    with solved.broken("dc1", f"cp {SCRIPT} /root/script.bak && echo '{duplicate}' >> {SCRIPT}",
                       f"{RESTORE_SCRIPT} && (samba-tool user delete doublon || true)"):
        assert solved.grid("not-rejouable") == solved.only_not_met("A1.3/CE.4", AUTOMATED)
        expect(solved.outcomes("not-rejouable"), failed=(REPLAY,))


# --- near misses: looks done, is not ------------------------------------------------------------------------------

def test_a_gpo_linked_to_the_users_ou_and_a_shellcheck_silenced_by_the_candidate_fail(solved):
    """The GPO linked where the users are (not the workstations' OU); ShellCheck silenced by a `disable`
    directive and by `.shellcheckrc` files beside the script and in root's home."""
    silence = (f"cp -p {SCRIPT} /root/script.bak && sed -i '3a # shellcheck disable=SC2086' {SCRIPT} && "
               f"echo 'echo Fin du traitement pour $USER' >> {SCRIPT} && "
               "echo disable=all > /srv/automatisation/.shellcheckrc && cp /srv/automatisation/.shellcheckrc /root/")
    with solved.broken("dc1", relink(ou=USERS_OU), f"{unlink(USERS_OU)} && {relink()}"), \
            solved.broken("dc1", silence, f"{RESTORE_SCRIPT} && rm /srv/automatisation/.shellcheckrc /root/.shellcheckrc"):
        solved.grid("users-ou-silenced")
        expect(solved.outcomes("users-ou-silenced"), failed=(LINKED, APPLIED, SHELLCHECK))
        message = solved.messages("users-ou-silenced")[SHELLCHECK]
        assert "SC2086" in message and "neutralisées" in message, message
        assert USERS_OU.lower() in solved.messages("users-ou-silenced")[LINKED].lower()


def test_a_local_deny_rule_instead_of_the_gpo_fails(solved):
    """bdupont refused by sssd's own rule (simple_deny_groups) on the workstation, the GPO not linked: the logon
    is refused by pam_sss as a GPO would, yet nothing comes from the GPO."""
    fresh_sssd = "systemctl stop sssd && rm -rf /var/lib/sss/db/cache_* /var/lib/sss/db/timestamps_* /var/lib/sss/gpo_cache/*"
    local_rule = (f"cp -p /etc/sssd/sssd.conf /root/sssd.conf.bak && {fresh_sssd} && "
                  "sed -i 's/^access_provider = ad$/access_provider = simple\\nsimple_deny_groups = gg_atelier@durand.test/' "
                  "/etc/sssd/sssd.conf && systemctl start sssd && sleep 5")
    back = f"cp -p /root/sssd.conf.bak /etc/sssd/sssd.conf && {fresh_sssd} && systemctl start sssd && sleep 5"
    with solved.broken("dc1", unlink(OU), relink()), solved.broken("client1", local_rule, back):
        solved.grid("local-rule")
        expect(solved.outcomes("local-rule"), failed=(LINKED, APPLIED))


def test_passwords_reset_on_replay_and_a_permissive_workstation_with_an_sshd_rule_fail(solved):
    """The script resets the password of every listed account that exists (an existing colleague's included);
    on the workstation sssd only reports the GPO (ad_gpo_access_control = permissive) and sshd's DenyGroups
    refuses bdupont: refused, but not by the GPO."""
    reset = edited("'/if ! samba-tool user show/i samba-tool user show \"$identifiant\" > /dev/null 2>&1 && "
                   "samba-tool user setpassword \"$identifiant\" --random-password --must-change-at-next-login'")
    back = f"{RESTORE_SCRIPT} && samba-tool user setpassword cdurand --newpassword='Gerance-Claire-26!'"
    permissive = ("cp -p /etc/sssd/sssd.conf /root/sssd.conf.bak && cp -p /etc/ssh/sshd_config /root/sshd_config.bak && "
                  "sed -i '/^access_provider = ad$/a ad_gpo_access_control = permissive' /etc/sssd/sssd.conf && "
                  "echo 'DenyGroups gg_atelier@durand.test' >> /etc/ssh/sshd_config && systemctl reload ssh && "
                  "systemctl restart sssd && sleep 5")
    enforcing = ("cp -p /root/sshd_config.bak /etc/ssh/sshd_config && cp -p /root/sssd.conf.bak /etc/sssd/sssd.conf && "
                 "systemctl reload ssh && systemctl restart sssd && sleep 5")
    with solved.broken("dc1", reset, back), solved.broken("client1", permissive, enforcing):
        solved.grid("reset-permissive")
        expect(solved.outcomes("reset-permissive"), failed=(APPLIED, REPLAY))
        assert "cdurand" in solved.messages("reset-permissive")[REPLAY]


def test_a_list_ignored_and_the_wrong_right_fail(solved):
    """A clean, rejouable script that creates the brief's three names whatever the list says; the GPO denies
    local logons (SeDenyInteractiveLogonRight) instead of remote ones."""
    with solved.broken("dc1", script(HARD_CODED_SCRIPT), RESTORE_SCRIPT), \
            solved.broken("dc1", rights("SeDenyInteractiveLogonRight = *$atelier"), RIGHTS_OF_THE_BRIEF):
        solved.grid("hard-coded-wrong-right")
        expect(solved.outcomes("hard-coded-wrong-right"), failed=(IN_SYSVOL, APPLIED, CREATES))


def test_a_group_column_ignored_and_a_right_given_to_the_user_fail(solved):
    """Every newcomer put in GG_Personnel whatever the group column says; the right denied to bdupont's own SID
    rather than to the group GG_Atelier (he is refused, yet the policy is not the one asked for)."""
    with solved.broken("dc1", edited("'s/\"$groupe\"/GG_Personnel/g'"), RESTORE_SCRIPT), \
            solved.broken("dc1", rights("SeDenyRemoteInteractiveLogonRight = *$bdupont"), RIGHTS_OF_THE_BRIEF):
        solved.grid("no-group-user-sid")
        outcomes = solved.outcomes("no-group-user-sid")
        assert outcomes[CREATES] == "failed" and outcomes[IN_SYSVOL] == "failed" and outcomes[APPLIED] == "failed", outcomes
        assert outcomes[EXISTS] == outcomes[LINKED] == outcomes[REPLAY] == "passed", outcomes


def test_existing_accounts_recreated_and_a_gpo_without_the_security_extension_fail(solved):
    """The script deletes and re-creates every listed account (an existing one loses its object and password);
    the GPO's files are right but gPCMachineExtensionNames lacks the security extension."""
    recreate = edited("'/if ! samba-tool user show/i samba-tool user delete \"$identifiant\" > /dev/null 2>&1 || true'")
    back = (f"{RESTORE_SCRIPT} && samba-tool user setpassword cdurand --newpassword='Gerance-Claire-26!' && "
            "samba-tool group addmembers GG_Personnel cdurand 2>/dev/null || true")
    with solved.broken("dc1", recreate, back), \
            solved.broken("dc1", gpo_object("delete: gPCMachineExtensionNames"),
                          gpo_object(f"replace: gPCMachineExtensionNames\\ngPCMachineExtensionNames: {SECURITY_CSE}")):
        solved.grid("recreated-no-cse")
        expect(solved.outcomes("recreated-no-cse"), failed=(IN_SYSVOL, APPLIED, REPLAY))
        assert "cdurand" in solved.messages("recreated-no-cse")[REPLAY]


def test_no_password_change_at_first_logon_and_gpo_files_computers_cannot_read_fail(solved):
    """Accounts created without --must-change-at-next-login; the GPO's file rewritten without
    `samba-tool ntacl sysvolreset` (root-only): sssd fails closed and every domain logon is refused."""
    with solved.broken("dc1", edited("'s/ --must-change-at-next-login//'"), RESTORE_SCRIPT), \
            solved.broken("dc1", rights("SeDenyRemoteInteractiveLogonRight = *$atelier", reset_acl=False),
                          RIGHTS_OF_THE_BRIEF):
        solved.grid("no-must-change-unreadable")
        expect(solved.outcomes("no-must-change-unreadable"), failed=(APPLIED, CREATES))


def test_a_disabled_computer_configuration_fails_and_an_emptied_list_changes_nothing(solved):
    """The GPO's computer configuration disabled (flags = 2): sssd ignores it. The candidate's own list emptied:
    the grader's list is used, so the script is still judged (met), and the empty list is put back."""
    with solved.broken("dc1", gpo_object("replace: flags\\nflags: 2"), gpo_object("replace: flags\\nflags: 0")), \
            solved.broken("dc1", f"cp -p {LIST} /root/list.bak && : > {LIST}", f"cp -p /root/list.bak {LIST}"):
        solved.grid("computer-disabled-empty-list")
        expect(solved.outcomes("computer-disabled-empty-list"), failed=(EXISTS, APPLIED))
        solved.run("dc1", f"test -f {LIST} && test ! -s {LIST}")


def test_a_group_named_instead_of_its_sid_and_a_missing_script(solved):
    """Windows resolves a group's name in GptTmpl.inf, so SYSVOL holds the asked setting; sssd applies SIDs only,
    so bdupont still logs on and the workstation check fails. The script renamed: CE.2 and CE.4 fail, never
    error."""
    with solved.broken("dc1", rights("SeDenyRemoteInteractiveLogonRight = DURAND\\\\GG_Atelier"), RIGHTS_OF_THE_BRIEF), \
            solved.broken("dc1", f"mv {SCRIPT} {SCRIPT}.old", f"mv {SCRIPT}.old {SCRIPT}"):
        solved.grid("by-name-no-script")
        expect(solved.outcomes("by-name-no-script"), failed=(APPLIED, SHELLCHECK, CREATES, REPLAY))
        assert "SID" in solved.messages("by-name-no-script")[APPLIED]


# --- other correct shapes: every check passes --------------------------------------------------------------------

def test_a_windows_written_gpo_and_a_script_written_otherwise_pass(solved):
    """GptTmpl.inf in UTF-16 with its BOM, as Windows writes it, denying the right to Guests and GG_Atelier;
    a POSIX sh script with other tools."""
    with solved.broken("dc1", rights("SeDenyRemoteInteractiveLogonRight = *S-1-5-32-546,*$atelier", utf16=True),
                       RIGHTS_OF_THE_BRIEF), \
            solved.broken("dc1", script(ANOTHER_CORRECT_SCRIPT), RESTORE_SCRIPT):
        assert solved.grid("other-shapes") == {c: "met" for c in AUTOMATED}
        expect(solved.outcomes("other-shapes"), failed=())

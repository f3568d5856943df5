"""bloc1-configuration (A1.2) for real: the self-test, then near misses on the solved lab — states where the work
looks done but is not, each asserted on the check that must fail — and correct setups of another shape than the
reference solution, which must pass. Independent near misses (each on a different check) share one grid run."""
from __future__ import annotations

import shlex
from contextlib import ExitStack

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-configuration")
AUTOMATED = ("A1.2/CE.2", "A1.2/CE.4", "A1.2/CE.6")  # CE.5 is the evaluator's: its check is supporting evidence
CHECKS = ("test_the_requested_ous_exist", "test_the_requested_accounts_exist_enabled_in_their_ou",
          "test_the_requested_accounts_take_their_initial_password", "test_the_requested_group_holds_the_requested_accounts",
          "test_the_new_accounts_belong_to_the_staff_group_through_nesting",
          "test_the_domain_srv_records_resolve_from_the_workstation", "test_the_domain_controller_serves_time_to_the_network",
          "test_the_workstation_follows_the_time_of_the_domain_controller",
          "test_the_common_share_is_reachable_with_a_domain_account",
          "test_the_collaborator_session_has_the_requested_accessibility_settings",
          "test_the_password_policy_is_the_one_of_the_brief", "test_accounts_lock_after_the_failed_attempts_of_the_brief",
          "test_the_directory_refuses_anonymous_reads", "test_the_personal_data_share_is_readable_by_its_group_only")
DMOREAU = "dmoreau@durand.test"
PASSWORD_FPETIT = "Etudes-Fanny-2026!"


def anonymous_reads(heuristics: str) -> str:
    return ("printf 'dn: CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,DC=durand,DC=test\\n"
            f"changetype: modify\\nreplace: dSHeuristics\\ndSHeuristics: {heuristics}\\n' "
            "| ldbmodify -H /var/lib/samba/private/sam.ldb")


def gsettings(action: str) -> str:
    """A gsettings command run in Daniel Moreau's own session profile on the workstation."""
    return f"su - {DMOREAU} -s /bin/sh -c 'dbus-run-session -- gsettings {action}'"


def high_contrast(value: str) -> str:
    return gsettings(f"set org.gnome.desktop.a11y.interface high-contrast {value}")


def text_scaling(value: str) -> str:
    return gsettings(f"set org.gnome.desktop.interface text-scaling-factor {value}")


def share_option(share: str, option: str, value: str) -> str:
    """Set (or with value '' remove) one option of a share section of the DC's smb.conf, and reload."""
    delete = f"/^\\[{share}\\]/,/^\\[/ {{ /^[[:space:]]*{option} =/d }}"
    add = f"/^\\[{share}\\]/a\\\t{option} = {value}"
    return (f"sed -i -e {shlex.quote(delete)} {'-e ' + shlex.quote(add) if value else ''} /etc/samba/smb.conf "
            "&& smbcontrol all reload-config")


def password_settings(options: str) -> str:
    return f"samba-tool domain passwordsettings set {options}"


def chrony_allow(network: str) -> str:
    return (f"printf 'allow %s\\nlocal stratum 8\\n' {network} > /etc/chrony/conf.d/source-du-domaine.conf "
            "&& systemctl restart chrony")


def resolver(*servers: str) -> str:
    return "printf 'search durand.test\\n" + "".join(f"nameserver {s}\\n" for s in servers) + "' > /etc/resolv.conf"


def group_type(value: str) -> str:
    return ("printf 'dn: CN=GG_BureauEtudes,OU=Groupes,OU=Durand,DC=durand,DC=test\\nchangetype: modify\\n"
            f"replace: groupType\\ngroupType: {value}\\n' | ldbmodify -H /var/lib/samba/private/sam.ldb")


def create_fpetit(password: str) -> str:
    """Fanny Petit's account (re)created as the brief asks, with `password`."""
    return (f"samba-tool user delete fpetit && samba-tool user create fpetit '{password}' --given-name=Fanny "
            "--surname=Petit --userou=OU=BureauEtudes,OU=Durand && samba-tool group addmembers GG_BureauEtudes fpetit")


def breaking(stack: ExitStack, solved, machine: str, breaking_cmd: str, restoring_cmd: str) -> None:
    stack.enter_context(solved.broken(machine, breaking_cmd, restoring_cmd))


def assert_outcomes(solved, grid: str, failed: set[str], tolerated: dict[str, str] | None = None) -> None:
    """Exactly the checks in `failed` failed; every other check of the activity passed (or, for a check in
    `tolerated`, had that outcome: a near miss whose real effect reaches beyond its own check)."""
    outcomes = solved.outcomes(grid)
    assert set(outcomes) == set(CHECKS), outcomes
    tolerated = tolerated or {}
    wrong = {name: outcome for name, outcome in outcomes.items()
             if outcome != ("failed" if name in failed else "passed") and tolerated.get(name) != outcome}
    assert not wrong, (wrong, {name: solved.messages(grid)[name] for name in wrong})
    messages = solved.messages(grid)
    for name in failed:  # the grid speaks French: a sentence, never a raw assertion
        assert messages[name] and not messages[name].startswith(("assert", "Le correcteur")), messages[name]


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=len(CHECKS))
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}
    assert set(solved.outcomes("solved").values()) == {"passed"}


def test_near_misses_of_every_kind_fail_their_own_check(solved):
    """One grid, one near miss per check: a candidate's honest mistakes where the work looks done."""
    with ExitStack() as stack:
        # The account created where samba-tool puts it by default (CN=Users), not in the OU of the brief.
        breaking(stack, solved, "dc1", "samba-tool user move dmoreau CN=Users",
                 "samba-tool user move dmoreau OU=BureauEtudes,OU=Durand")
        # The account created with a typo in the password handed over. (Not a later change of the password:
        # Samba accepts the previous password over NTLM and LDAP binds for an hour, "old password allowed period".)
        breaking(stack, solved, "dc1", create_fpetit(PASSWORD_FPETIT.rstrip("!")), create_fpetit(PASSWORD_FPETIT))
        # The group created where samba-tool puts it by default (CN=Users), not in Durand/Groupes.
        breaking(stack, solved, "dc1", "samba-tool group move GG_BureauEtudes CN=Users",
                 "samba-tool group move GG_BureauEtudes OU=Groupes,OU=Durand")
        # The users put directly into GG_Personnel: they are staff, but the nesting asked for is not there.
        breaking(stack, solved, "dc1", "samba-tool group removemembers GG_Personnel GG_BureauEtudes && "
                 "samba-tool group addmembers GG_Personnel dmoreau,fpetit",
                 "samba-tool group removemembers GG_Personnel dmoreau,fpetit && "
                 "samba-tool group addmembers GG_Personnel GG_BureauEtudes")
        # The workstation resolves the domain through the network's gateway (it forwards to the DC), not the DC.
        breaking(stack, solved, "client1", resolver("192.168.56.1"), resolver("192.168.56.10"))
        # The DC serves time to the workstation's address only, not to the network of the brief.
        breaking(stack, solved, "dc1", chrony_allow("192.168.56.50"), chrony_allow("192.168.56.0/24"))
        # chrony started by hand on the workstation, not enabled: lost at the next boot.
        breaking(stack, solved, "client1", "systemctl disable chrony 2>/dev/null",
                 "systemctl enable chrony 2>/dev/null")
        # The common share left read-only (smb.conf's default): the staff can list, not write.
        breaking(stack, solved, "dc1", share_option("commun", "read only", "yes"),
                 share_option("commun", "read only", "no"))
        # Formerly their own partial states: high contrast off (CE.5 stays the evaluator's, its supporting check
        # fails) and the directory reopened to anonymous reads.
        breaking(stack, solved, "client1", high_contrast("false"), high_contrast("true"))
        breaking(stack, solved, "dc1", password_settings("--min-pwd-length=10"),
                 password_settings("--min-pwd-length=12"))
        breaking(stack, solved, "dc1", password_settings("--account-lockout-threshold=10"),
                 password_settings("--account-lockout-threshold=5"))
        breaking(stack, solved, "dc1", anonymous_reads("0000002"), anonymous_reads("0000000"))
        # The HR directory restricted, its files not: GG_RH members open the share but cannot read the data.
        breaking(stack, solved, "dc1", "chmod 0600 /srv/partages/rh/salaires-2026.txt && "
                 "chown root:root /srv/partages/rh/salaires-2026.txt",
                 "chgrp --reference=/srv/partages/rh /srv/partages/rh/salaires-2026.txt && "
                 "chmod 0660 /srv/partages/rh/salaires-2026.txt")
        solved.grid("near-misses-1")
    assert_outcomes(solved, "near-misses-1", set(CHECKS) - {"test_the_requested_ous_exist"})
    messages = solved.messages("near-misses-1")
    assert "ajoutés directement" in messages["test_the_new_accounts_belong_to_the_staff_group_through_nesting"]
    assert "192.168.56.1" in messages["test_the_domain_srv_records_resolve_from_the_workstation"]
    assert "écrire" in messages["test_the_common_share_is_reachable_with_a_domain_account"]
    assert "salaires-2026.txt" in messages["test_the_personal_data_share_is_readable_by_its_group_only"]
    assert "fpetit (mot de passe refusé)" in messages["test_the_requested_accounts_take_their_initial_password"]


def test_more_near_misses_fail_their_own_check(solved):
    with ExitStack() as stack:
        # The OU created at the root of the domain instead of under Durand (its accounts follow it).
        breaking(stack, solved, "dc1", "samba-tool ou move OU=BureauEtudes,OU=Durand DC=durand,DC=test",
                 "samba-tool ou move OU=BureauEtudes OU=Durand")
        # A staff member added to the group by mistake.
        breaking(stack, solved, "dc1", "samba-tool group addmembers GG_BureauEtudes bdupont",
                 "samba-tool group removemembers GG_BureauEtudes bdupont")
        # The common share writable in smb.conf, but its directory is not writable by the staff.
        breaking(stack, solved, "dc1", "chmod 0755 /srv/partages/commun", "chmod 1777 /srv/partages/commun")
        # chrony running on the DC but not enabled at boot.
        breaking(stack, solved, "dc1", "systemctl disable chrony 2>/dev/null", "systemctl enable chrony 2>/dev/null")
        breaking(stack, solved, "client1", text_scaling("1.25"), text_scaling("1.5"))
        breaking(stack, solved, "dc1", password_settings("--complexity=off"), password_settings("--complexity=on"))
        breaking(stack, solved, "dc1", password_settings("--account-lockout-duration=30 "
                                                          "--reset-account-lockout-after=15"),
                 password_settings("--account-lockout-duration=15 --reset-account-lockout-after=15"))
        # `read list` taken for "only these may read" (it only makes them read-only), the directory left open
        # as the contractor had it, and guests let in.
        breaking(stack, solved, "dc1", share_option("rh", "valid users", "") + " && "
                 + share_option("rh", "read list", "@DURAND\\\\GG_RH") + " && "
                 + share_option("rh", "guest ok", "yes") + " && chmod 0777 /srv/partages/rh",
                 share_option("rh", "read list", "") + " && " + share_option("rh", "guest ok", "") + " && "
                 + share_option("rh", "valid users", "@DURAND\\\\GG_RH") + " && chmod 2770 /srv/partages/rh")
        solved.grid("near-misses-2")
    assert_outcomes(solved, "near-misses-2", {
        "test_the_requested_ous_exist", "test_the_requested_accounts_exist_enabled_in_their_ou",
        "test_the_requested_group_holds_the_requested_accounts", "test_the_common_share_is_reachable_with_a_domain_account",
        "test_the_domain_controller_serves_time_to_the_network",
        "test_the_collaborator_session_has_the_requested_accessibility_settings",
        "test_the_password_policy_is_the_one_of_the_brief", "test_accounts_lock_after_the_failed_attempts_of_the_brief",
        "test_the_personal_data_share_is_readable_by_its_group_only"})
    messages = solved.messages("near-misses-2")
    assert "ailleurs" in messages["test_the_requested_ous_exist"]
    assert "bdupont" in messages["test_the_requested_group_holds_the_requested_accounts"]
    assert "anonyme" in messages["test_the_personal_data_share_is_readable_by_its_group_only"]


def test_a_member_missing_from_the_requested_group_fails_the_identities_criterion_only(solved):
    with solved.broken("dc1", "samba-tool group removemembers GG_BureauEtudes fpetit",
                       "samba-tool group addmembers GG_BureauEtudes fpetit"):
        assert solved.grid("member-missing") == solved.only_not_met("A1.2/CE.2", AUTOMATED)
    assert_outcomes(solved, "member-missing", {"test_the_requested_group_holds_the_requested_accounts",
                                               "test_the_new_accounts_belong_to_the_staff_group_through_nesting"})


def test_a_disabled_account_and_an_inverted_nesting_fail_their_checks(solved):
    with ExitStack() as stack:
        breaking(stack, solved, "dc1", "samba-tool user disable fpetit", "samba-tool user enable fpetit")
        # GG_Personnel put into GG_BureauEtudes instead of the reverse (addmembers' arguments swapped).
        breaking(stack, solved, "dc1", "samba-tool group removemembers GG_Personnel GG_BureauEtudes && "
                 "samba-tool group addmembers GG_BureauEtudes GG_Personnel",
                 "samba-tool group removemembers GG_BureauEtudes GG_Personnel && "
                 "samba-tool group addmembers GG_Personnel GG_BureauEtudes")
        solved.grid("near-misses-3")
    assert_outcomes(solved, "near-misses-3", {
        "test_the_requested_accounts_exist_enabled_in_their_ou", "test_the_requested_accounts_take_their_initial_password",
        "test_the_requested_group_holds_the_requested_accounts",
        "test_the_new_accounts_belong_to_the_staff_group_through_nesting"})
    messages = solved.messages("near-misses-3")
    assert "désactivé" in messages["test_the_requested_accounts_exist_enabled_in_their_ou"]
    assert "inversée" in messages["test_the_new_accounts_belong_to_the_staff_group_through_nesting"]


def test_a_distribution_group_a_share_for_the_former_staff_and_a_dead_first_resolver_fail_their_checks(solved):
    with ExitStack() as stack:
        # A distribution group cannot carry rights: the same name and members, the wrong kind of group.
        breaking(stack, solved, "dc1", group_type("2"), group_type("-2147483646"))
        # The common share opened to the staff's groups by name, as they were before the BureauEtudes: the new
        # colleagues are refused.
        breaking(stack, solved, "dc1", share_option("commun", "valid users",
                                                    "@DURAND\\\\GG_Comptabilite @DURAND\\\\GG_Atelier cdurand"),
                 share_option("commun", "valid users", ""))
        # The decommissioned DNS server left first, the DC second: lookups succeed, after its time-out each time.
        breaking(stack, solved, "client1", resolver("192.168.56.2", "192.168.56.10"), resolver("192.168.56.10"))
        solved.grid("near-misses-4")
    # The slow resolver has its real effect beyond DNS: opening Daniel Moreau's session on the workstation
    # outlasts the grader's wait, so his (supporting) accessibility check gets no answer that time.
    assert_outcomes(solved, "near-misses-4", {"test_the_requested_group_holds_the_requested_accounts",
                                              "test_the_common_share_is_reachable_with_a_domain_account",
                                              "test_the_domain_srv_records_resolve_from_the_workstation"},
                    tolerated={"test_the_collaborator_session_has_the_requested_accessibility_settings": "error"})
    messages = solved.messages("near-misses-4")
    assert "192.168.56.2" in messages["test_the_domain_srv_records_resolve_from_the_workstation"]
    assert "distribution" in messages["test_the_requested_group_holds_the_requested_accounts"]
    assert "dmoreau" in messages["test_the_common_share_is_reachable_with_a_domain_account"]


def test_correct_setups_of_another_shape_pass(solved):
    """What the brief asks, done otherwise than the reference solution: every check must still pass."""
    with ExitStack() as stack:
        # Initial password handed over with "must change at first logon": the password is the right one.
        breaking(stack, solved, "dc1",
                 f"samba-tool user setpassword fpetit --newpassword='{PASSWORD_FPETIT}' --must-change-at-next-login",
                 f"samba-tool user setpassword fpetit --newpassword='{PASSWORD_FPETIT}'")
        # GG_BureauEtudes nested in GG_Personnel through a department group, added with ldbmodify.
        breaking(stack, solved, "dc1",
                 "samba-tool group add GG_Services --groupou=OU=Groupes,OU=Durand && "
                 "samba-tool group removemembers GG_Personnel GG_BureauEtudes && "
                 "printf 'dn: CN=GG_Services,OU=Groupes,OU=Durand,DC=durand,DC=test\\nchangetype: modify\\n"
                 "add: member\\nmember: CN=GG_BureauEtudes,OU=Groupes,OU=Durand,DC=durand,DC=test\\n' "
                 "| ldbmodify -H /var/lib/samba/private/sam.ldb && "
                 "samba-tool group addmembers GG_Personnel GG_Services",
                 "samba-tool group addmembers GG_Personnel GG_BureauEtudes && samba-tool group delete GG_Services")
        # A fallback resolver after the DC: the DC still answers.
        breaking(stack, solved, "client1", resolver("192.168.56.10", "192.168.56.1"), resolver("192.168.56.10"))
        # The common share opened to the staff group by name (nested groups included) with `writeable`.
        breaking(stack, solved, "dc1", share_option("commun", "read only", "") + " && "
                 + share_option("commun", "writeable", "yes") + " && "
                 + share_option("commun", "valid users", "@DURAND\\\\GG_Personnel"),
                 share_option("commun", "valid users", "") + " && " + share_option("commun", "writeable", "")
                 + " && " + share_option("commun", "read only", "no"))
        # The HR share restricted by the file system's rights alone (no `valid users`).
        breaking(stack, solved, "dc1", share_option("rh", "valid users", ""),
                 share_option("rh", "valid users", "@DURAND\\\\GG_RH"))
        # The accessibility settings as system defaults (a dconf database), the user's own values reset.
        breaking(stack, solved, "client1",
                 "mkdir -p /etc/dconf/profile /etc/dconf/db/local.d && "
                 "printf 'user-db:user\\nsystem-db:local\\n' > /etc/dconf/profile/user && "
                 "printf '[org/gnome/desktop/interface]\\ntext-scaling-factor=1.5\\n\\n"
                 "[org/gnome/desktop/a11y/interface]\\nhigh-contrast=true\\n' > /etc/dconf/db/local.d/00-a11y && "
                 "dconf update && " + gsettings("reset org.gnome.desktop.interface text-scaling-factor") + " && "
                 + gsettings("reset org.gnome.desktop.a11y.interface high-contrast"),
                 "rm -f /etc/dconf/profile/user /etc/dconf/db/local.d/00-a11y /etc/dconf/db/local && dconf update && "
                 + text_scaling("1.5") + " && " + high_contrast("true"))
        # A stricter password policy than asked.
        breaking(stack, solved, "dc1", password_settings("--min-pwd-length=14"),
                 password_settings("--min-pwd-length=12"))
        assert solved.grid("other-shapes") == {c: "met" for c in AUTOMATED}
    assert_outcomes(solved, "other-shapes", set())

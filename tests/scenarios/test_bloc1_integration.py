"""bloc1-integration (A1.1) for real: the self-test, partial states each breaking exactly one criterion, then
near misses (the work looks done but is not: the check must fail) and other correct shapes (they must pass),
asserted check by check.

Every `labgrader check` restarts the workstation once (≈ 15 s): near misses that touch different checks share
one grid run, and each is put back by its `broken` block."""
from __future__ import annotations

import shlex
from contextlib import ExitStack

import pytest

from .conftest import solved_lab_fixture, zabbix_on_server

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-integration")
AUTOMATED = ("A1.1/CE.1", "A1.1/CE.2", "A1.1/CE.3", "A1.1/CE.4", "A1.1/CE.5")
ZABBIX_PASSWORD = "Zbx-Durand-2026!"  # scenarios/bloc1-integration.yaml, lab.zabbix.admin_password
NFT = "/etc/nftables.conf"


def zabbix(code: str) -> str:
    """A shell command, run on zbx1, that calls its API: `api(method, params)`, `host` (pc-compta-01's id) and
    `agent` (its agent interface) are defined for `code`."""
    return zabbix_on_server(ZABBIX_PASSWORD, f"""
host = api("host.get", {{"filter": {{"host": ["pc-compta-01"]}}, "output": ["hostid"]}})[0]["hostid"]
agent = api("hostinterface.get", {{"hostids": host, "filter": {{"type": 1}}, "output": ["interfaceid"]}})[0]
{code}""")


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=14)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}
    assert set(solved.outcomes("solved").values()) == {"passed"}


def test_a_disabled_account_fails_the_domain_logon_only(solved):
    with solved.broken("dc1", "samba-tool user disable amartin", "samba-tool user enable amartin"):
        assert solved.grid("user-disabled") == solved.only_not_met("A1.1/CE.4", AUTOMATED)
    assert solved.outcomes("user-disabled")["test_the_user_logs_on_with_domain_credentials"] == "failed"
    refused = [e for e in solved.evidence("user-disabled", "A1.1/CE.4") if e["action"].startswith("ssh logon")]
    assert refused and refused[0]["detail"].startswith("refused")


def test_a_firewall_not_enabled_at_boot_fails_the_security_baseline_only(solved):
    """Started by hand but not enabled: the grader's restart leaves the workstation open."""
    with solved.broken("client1", "systemctl disable --now nftables", "systemctl enable --now nftables"):
        assert solved.grid("firewall-not-at-boot") == solved.only_not_met("A1.1/CE.5", AUTOMATED)
    outcomes = solved.outcomes("firewall-not-at-boot")
    assert outcomes["test_the_host_firewall_is_active_with_the_expected_rules"] == "failed"
    assert outcomes["test_root_cannot_log_on_over_ssh_with_a_password"] == "passed"


def test_a_time_zone_left_in_utc_fails_the_installation_criterion_only(solved):
    with solved.broken("client1", "timedatectl set-timezone Etc/UTC", "timedatectl set-timezone Europe/Paris"):
        assert solved.grid("utc") == solved.only_not_met("A1.1/CE.3", AUTOMATED)
    assert solved.outcomes("utc")["test_the_time_zone_is_the_one_of_the_brief"] == "failed"


# Near misses that touch different checks, in one grid run: (check that must fail, machine, breaking, restoring).
NEAR_MISSES_1 = {
    # The supplier's unit is still enabled; `systemctl reset-failed` only hid today's failure.
    "oem-unit-hidden-by-reset-failed": (
        "test_no_system_unit_has_failed", "client1",
        "printf '[Unit]\\nDescription=OEM\\n[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\n"
        "WantedBy=multi-user.target\\n' > /etc/systemd/system/oem-premier-demarrage.service && systemctl daemon-reload"
        " && systemctl enable oem-premier-demarrage.service && (systemctl start oem-premier-demarrage.service || true)"
        " && systemctl reset-failed",
        "systemctl disable oem-premier-demarrage.service; rm -f /etc/systemd/system/oem-premier-demarrage.service;"
        " systemctl daemon-reload; systemctl reset-failed"),
    # A package forced in without what it depends on: dpkg --audit is silent, the system is not consistent.
    "package-forced-without-its-dependency": (
        "test_the_package_system_is_consistent", "client1",
        "sed -i '/^Package: nano$/,/^$/ s/^Depends: /Depends: labgrader-absent-package, /' /var/lib/dpkg/status",
        "sed -i 's/^Depends: labgrader-absent-package, /Depends: /' /var/lib/dpkg/status"),
    # /etc/timezone edited, /etc/localtime (what the system uses) left in UTC.
    "time-zone-written-in-etc-timezone-only": (
        "test_the_time_zone_is_the_one_of_the_brief", "client1",
        "ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime && echo Europe/Paris > /etc/timezone",
        "timedatectl set-timezone Europe/Paris"),
    # Joined without --computer-ou: the account sits in CN=Computers.
    "computer-account-left-in-computers": (
        "test_the_computer_account_is_in_the_ou_of_the_brief", "dc1",
        "samba-tool computer move pc-compta-01 CN=Computers,DC=durand,DC=test",
        "samba-tool computer move pc-compta-01 OU=Postes,OU=Durand,DC=durand,DC=test"),
    # A local account named like the domain user, with her password: a logon, but not a domain logon.
    "local-account-named-like-the-user": (
        "test_the_user_logs_on_with_domain_credentials", "client1",
        "echo 'amartin@durand.test:x:1500:1500:Alice Martin (locale):/home/amartin-locale:/bin/bash' >> /etc/passwd"
        " && echo 'amartin@durand.test:x:1500:' >> /etc/group && h=$(python3 -W ignore -c 'import crypt;"
        " print(crypt.crypt(\"Compta-Alice-26!\", crypt.mksalt(crypt.METHOD_SHA512)))')"
        " && echo \"amartin@durand.test:$h:20000:0:99999:7:::\" >> /etc/shadow",
        "sed -i '/^amartin@durand.test:/d' /etc/passwd /etc/group /etc/shadow; rm -rf /home/amartin-locale"),
    # Everything that comes in on the lab's interface accepted before the port rules.
    "firewall-accepts-the-interface": (
        "test_the_host_firewall_is_active_with_the_expected_rules", "client1",
        f"sed -i 's/^    iif lo accept$/    iif lo accept\\n    iifname \"eth0\" accept/' {NFT} && nft -f {NFT}",
        f"sed -i '/iifname \"eth0\" accept/d' {NFT} && nft -f {NFT}"),
    # PermitRootLogin no for everyone, but a Match block gives it back to the lab's network.
    "sshd-match-block-permits-root": (
        "test_root_cannot_log_on_over_ssh_with_a_password", "client1",
        "printf 'Match Address 192.168.56.0/24\\n    PermitRootLogin yes\\n' >> /etc/ssh/sshd_config",
        "sed -i '/^Match Address 192.168.56.0\\/24$/,$d' /etc/ssh/sshd_config"),
    # The periodic settings are written, but the timer that would run the upgrades is off.
    "upgrade-timer-disabled": (
        "test_automatic_security_updates_are_configured", "client1",
        "systemctl disable --now apt-daily-upgrade.timer",
        "systemctl enable --now apt-daily-upgrade.timer"),
    # The trainee's shell taken away, its empty password left.
    "trainee-given-nologin-but-no-password": (
        "test_no_local_account_has_an_empty_password", "client1",
        "usermod -s /usr/sbin/nologin stagiaire && passwd -d stagiaire",
        "passwd -l stagiaire && usermod -s /bin/bash stagiaire"),
}

NEAR_MISSES_2 = {
    # The machine's keytab gone (a join half undone): the files say joined, the DC does not accept it.
    "machine-keytab-missing": (
        "test_the_workstation_is_joined_to_the_domain", "client1",
        "mv /etc/krb5.keytab /etc/krb5.keytab.near-miss",
        "mv /etc/krb5.keytab.near-miss /etc/krb5.keytab && systemctl restart sssd"),
    # The whole lab network accepted: port 10050 is open to every machine, not to zbx1 only.
    "firewall-accepts-the-lab-network": (
        "test_the_host_firewall_is_active_with_the_expected_rules", "client1",
        f"sed -i 's/^    iif lo accept$/    iif lo accept\\n    ip saddr 192.168.56.0\\/24 accept/' {NFT}",
        f"sed -i '/ip saddr 192.168.56.0\\/24 accept/d' {NFT} && nft -f {NFT}"),
    # The host declared but its supervision switched off.
    "zabbix-host-disabled": (
        "test_the_workstation_is_a_host_of_the_supervision", "zbx1",
        zabbix('api("host.update", {"hostid": host, "status": 1})'),
        zabbix('api("host.update", {"hostid": host, "status": 0})')),
    # The agent interface left on 127.0.0.1: zbx1's own agent answers, and its values are zbx1's.
    "agent-interface-on-the-server-itself": (
        "test_its_agent_interface_is_available", "zbx1",
        zabbix('api("hostinterface.update", {"interfaceid": agent["interfaceid"], "ip": "127.0.0.1"})'),
        zabbix('api("hostinterface.update", {"interfaceid": agent["interfaceid"], "ip": "192.168.56.50"})')),
}

# Renaming back at the next start changes the machine's Kerberos name too (adcli, sssd): alone in its grid.
NEAR_MISSES_3 = {
    # Renamed with `hostname` only: the next start brings the supplier's name back.
    "hostname-set-until-the-next-start": (
        "test_the_hostname_follows_the_naming_rule", "client1",
        "echo client1 > /etc/hostname",
        "echo pc-compta-01 > /etc/hostname && hostname pc-compta-01"),
}

# What each near miss's message must say: the check failed for the reason the state was built for.
REASONS = {
    "oem-unit-hidden-by-reset-failed": "oem-premier-demarrage.service",
    "package-forced-without-its-dependency": "labgrader-absent-package",
    "time-zone-written-in-etc-timezone-only": "« Etc/UTC »",
    "computer-account-left-in-computers": "CN=Computers",
    "local-account-named-like-the-user": "a l'uid 1500",
    "firewall-accepts-the-interface": "Le port 10050 du poste (réservé à zbx1) accepte",
    "sshd-match-block-permits-root": "PermitRootLogin yes",
    "upgrade-timer-disabled": "apt-daily-upgrade.timer est disabled",
    "trainee-given-nologin-but-no-password": "stagiaire",
    "machine-keytab-missing": "adcli testjoin",
    "firewall-accepts-the-lab-network": "Le port 10050 du poste (réservé à zbx1) accepte",
    "zabbix-host-disabled": "supervision est désactivée",
    "agent-interface-on-the-server-itself": "pointe vers 127.0.0.1",
    "hostname-set-until-the-next-start": "est « client1 »",
}

OTHER_RULESET = [
    "#!/usr/sbin/nft -f", "flush ruleset", "table inet filtre {",
    "  set supervision { type ipv4_addr; elements = { 192.168.56.20 } }",
    "  chain entree {", "    type filter hook input priority 0; policy drop;",
    "    ct state established,related accept", "    iifname lo accept", "    ip protocol icmp accept",
    "    tcp dport { 22 } accept", "    ip saddr @supervision tcp dport 10050 accept", "    counter reject", "  }",
    "  chain sortie {", "    type filter hook output priority 0; policy accept;", "  }", "}"]

# Correct setups of another shape than the reference solution's: (check that must pass, machine, changing, restoring).
OTHER_SHAPES = {
    # Names without the domain part (use_fully_qualified_names = False): still the domain's account.
    "short-user-names": (
        "test_the_user_logs_on_with_domain_credentials", "client1",
        "sed -i 's/^use_fully_qualified_names = True/use_fully_qualified_names = False/' /etc/sssd/sssd.conf",
        "sed -i 's/^use_fully_qualified_names = False/use_fully_qualified_names = True/' /etc/sssd/sssd.conf"
        " && sss_cache -E && systemctl restart sssd"),
    # A named set for the supervision server, an output chain, a final reject: the same policy.
    "firewall-with-a-named-set-and-an-output-chain": (
        "test_the_host_firewall_is_active_with_the_expected_rules", "client1",
        f"cp {NFT} {NFT}.solution && printf '%s\\n' {shlex.join(OTHER_RULESET)} > {NFT} && nft -f {NFT}",
        f"mv {NFT}.solution {NFT} && nft -f {NFT}"),
    # The trainee's account removed rather than locked.
    "trainee-account-removed": (
        "test_no_local_account_has_an_empty_password", "client1",
        "userdel -r stagiaire 2>/dev/null || userdel stagiaire",
        "useradd --create-home --shell /bin/bash stagiaire && passwd -l stagiaire"),
    # root keeps PermitRootLogin yes, but a Match block takes every password method away from root (keys only);
    # the other users (Alice) still log on with their password.
    "root-with-keys-only": (
        "test_root_cannot_log_on_over_ssh_with_a_password", "client1",
        "echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/05-cles.conf && printf 'Match User root\\n"
        "    PasswordAuthentication no\\n    KbdInteractiveAuthentication no\\n' >> /etc/ssh/sshd_config",
        "rm -f /etc/ssh/sshd_config.d/05-cles.conf && sed -i '/^Match User root$/,$d' /etc/ssh/sshd_config"),
    # The supplier's unit disabled, its file left in place.
    "oem-unit-disabled-not-removed": (
        "test_no_system_unit_has_failed", "client1",
        "printf '[Unit]\\nDescription=OEM\\n[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\n"
        "WantedBy=multi-user.target\\n' > /etc/systemd/system/oem-premier-demarrage.service && systemctl daemon-reload",
        "rm -f /etc/systemd/system/oem-premier-demarrage.service && systemctl daemon-reload"),
}


def _grid_with(solved, name: str, states: dict) -> dict[str, str]:
    with ExitStack() as stack:
        for _check, machine, breaking, restoring in states.values():
            stack.enter_context(solved.broken(machine, breaking, restoring))
        solved.grid(name)
    return solved.outcomes(name)


def _assert_near_misses_fail(solved, name: str, states: dict) -> dict[str, str]:
    outcomes = _grid_with(solved, name, states)
    messages = solved.messages(name)
    wrong = {state: (check, outcomes[check], messages[check]) for state, (check, *_rest) in states.items()
             if outcomes[check] != "failed" or REASONS[state] not in messages[check]}
    assert not wrong, wrong
    for message in messages.values():
        assert "assert " not in message and "Use -v" not in message
    return outcomes


def test_near_misses_of_the_workstation_fail_their_checks(solved):
    _assert_near_misses_fail(solved, "near-misses-1", NEAR_MISSES_1)


def test_correct_setups_of_another_shape_pass(solved):
    outcomes = _grid_with(solved, "other-shapes", OTHER_SHAPES)
    messages = solved.messages("other-shapes")
    wrong = {state: (check, outcomes[check], messages[check]) for state, (check, *_rest) in OTHER_SHAPES.items()
             if outcomes[check] != "passed"}
    assert not wrong, wrong


def test_a_host_name_set_until_the_next_start_fails_the_naming_check(solved):
    _assert_near_misses_fail(solved, "near-misses-3", NEAR_MISSES_3)


def test_near_misses_of_join_firewall_and_supervision_fail_their_checks(solved):
    """Last: the Zabbix changes are put back at the end, with no grid left to wait for the agent again."""
    outcomes = _assert_near_misses_fail(solved, "near-misses-2", NEAR_MISSES_2)
    assert outcomes["test_it_reports_recent_cpu_memory_and_disk_values"] == "failed"  # its values are zbx1's

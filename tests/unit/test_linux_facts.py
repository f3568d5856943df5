"""The pure parsers of remote/linux.py: what a Debian machine's outputs mean, without a lab."""
from __future__ import annotations

import socket

import pytest

from labgrader.remote import linux

SOLUTION_RULESET = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport 22 accept
		ip saddr 192.168.56.20 tcp dport 10050 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
"""


def test_the_input_policy_is_read_from_the_chain_hooked_on_input():
    assert linux.input_policy(SOLUTION_RULESET) == "drop"
    assert linux.input_policy(SOLUTION_RULESET.replace("input priority filter; policy drop",
                                                       "input priority filter; policy accept")) == "accept"
    assert linux.input_policy("") == ""


def test_a_drop_policy_in_any_input_base_chain_closes_the_input():
    two_chains = """table ip a {
	chain in1 {
		type filter hook input priority -10; policy accept;
	}
}
table inet b {
	chain in2 {
		type filter hook input priority 0; policy drop;
	}
}"""
    assert linux.input_policy(two_chains) == "drop"


def test_only_the_forward_chain_dropping_is_not_a_closed_input():
    ruleset = SOLUTION_RULESET.replace("input priority filter; policy drop", "input priority filter; policy accept")
    assert linux.input_policy(ruleset) == "accept"


def test_sshd_t_is_parsed_with_its_first_value_and_lower_case_keys():
    settings = linux.parse_sshd_t("permitrootlogin no\npasswordauthentication yes\nAcceptEnv LANG\nacceptenv LC_*\n")
    assert settings == {"permitrootlogin": "no", "passwordauthentication": "yes", "acceptenv": "LANG"}


@pytest.mark.parametrize("settings, allowed", [
    ({"permitrootlogin": "yes", "passwordauthentication": "yes", "kbdinteractiveauthentication": "no"}, True),
    ({"permitrootlogin": "yes", "passwordauthentication": "no", "kbdinteractiveauthentication": "yes"}, True),
    ({"permitrootlogin": "yes", "passwordauthentication": "no", "kbdinteractiveauthentication": "no"}, False),
    ({"permitrootlogin": "no", "passwordauthentication": "yes"}, False),
    ({"permitrootlogin": "prohibit-password", "passwordauthentication": "yes"}, False),
    ({"permitrootlogin": "without-password", "passwordauthentication": "yes"}, False),
    ({"permitrootlogin": "forced-commands-only", "passwordauthentication": "yes"}, False),
])
def test_root_password_logon_needs_both_root_and_a_password_method(settings, allowed):
    assert linux.root_password_logon_allowed(settings) is allowed


def test_the_apt_periodic_intervals_that_turn_a_job_on():
    assert all(linux.periodic_enabled(v) for v in ("1", "7", "always", "12h", " 1 "))
    assert not any(linux.periodic_enabled(v) for v in ("", "0", "0d", "no", "-1"))


APT_DUMP = """APT::Periodic "";
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
Unattended-Upgrade::Origins-Pattern "";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
"""


def test_apt_settings_and_the_security_origins_are_read_from_apt_config_dump():
    assert linux.apt_setting(APT_DUMP, "APT::Periodic::Unattended-Upgrade") == "1"
    assert linux.apt_setting(APT_DUMP, "APT::Periodic::AutocleanInterval") == ""
    assert linux.security_origins(APT_DUMP) == [
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"]
    assert linux.security_origins(APT_DUMP.replace("-security,label=Debian-Security", ",label=Debian")) == []
    assert linux.security_origins('Unattended-Upgrade::Allowed-Origins:: "Debian:bookworm-security";\n') == [
        "Debian:bookworm-security"]


def test_empty_passwords_are_found_in_shadow_and_in_passwd_itself():
    passwd = "root:x:0:0::/root:/bin/bash\nancien::1002:1002::/home/ancien:/bin/sh\n"
    shadow = "root:$y$j9T$abc:20000::::::\nstagiaire::20000:0:99999:7:::\nverrou:!:20000::::::\n"
    assert linux.empty_passwords(passwd, shadow) == ["stagiaire", "ancien"]
    assert linux.empty_passwords("root:x:0:0::/root:/bin/bash\n", "root:!*:20000::::::\n") == []


def test_the_uid_of_a_session_and_of_a_passwd_line():
    identity = "uid=1988001106(amartin@durand.test) gid=1988000513(domain users@durand.test) groups=1988000513"
    assert linux.uid_of(identity) == 1988001106
    assert linux.uid_of("") is None
    assert linux.passwd_uid("amartin:*:1988001106:1988000513:amartin:/home/amartin:/bin/bash") == 1988001106
    assert linux.passwd_uid("") is None


def test_the_start_time_of_pid_1_survives_a_command_name_with_spaces():
    stat = "1 (systemd) S 0 1 1 0 -1 4194560 3337 50 18 5 7 9 0 0 20 0 1 0 943210 22000000 3000"
    assert linux.parse_proc_stat_start(stat) == "943210"
    assert linux.parse_proc_stat_start(stat.replace("(systemd)", "(my init)")) == "943210"
    with pytest.raises(ValueError):
        linux.parse_proc_stat_start("1 (systemd) S")


def test_unmet_dependencies_are_what_apt_get_check_says_from_its_heading():
    out = """Reading package lists...
Building dependency tree...
Reading state information...
You might want to run 'apt --fix-broken install' to correct these.
The following packages have unmet dependencies:
 nano : Depends: labgrader-absent-package but it is not installable
E: Unmet dependencies. Try 'apt --fix-broken install' with no packages (or specify a solution)."""
    assert "nano : Depends: labgrader-absent-package" in linux.unmet_dependencies(out)
    assert linux.unmet_dependencies("E: Could not open lock file /var/lib/dpkg/lock-frontend") == ""


def test_listening_ports_leave_out_loopback():
    ss = """LISTEN 0 4096 0.0.0.0:10050 0.0.0.0:*
LISTEN 0 128 0.0.0.0:22 0.0.0.0:*
LISTEN 0 4096 127.0.0.1:631 0.0.0.0:*
LISTEN 0 4096 [::1]:631 [::]:*
LISTEN 0 4096 [::]:10050 [::]:*
LISTEN 0 4096 [fe80::1%eth0]:8080 [::]:*
"""
    assert linux.parse_listening(ss) == {22, 10050, 8080}


def test_a_tcp_probe_tells_open_from_refused():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        assert linux.tcp_probe("127.0.0.1", port, timeout=2) == "open"
    finally:
        server.close()
    assert linux.tcp_probe("127.0.0.1", port, timeout=2) == "refused"


def test_the_process_listening_on_a_port_is_read_from_ss():
    from labgrader.remote import linux
    ss = ('LISTEN 0 5 0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=812,fd=3))\n'
          'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=101,fd=3))\n')
    assert linux.listening_pids(ss, 8080) == {812}, "le PID qui écoute sur 8080"
    assert linux.listening_pids(ss, 9090) == set(), "personne n'écoute sur 9090"


def test_a_process_environment_is_read_from_proc():
    from labgrader.remote import linux
    environ = "LANG=C.UTF-8\0LOG_LEVEL=debug\0PATH=/usr/bin\0"
    assert linux.environment_value(environ, "LOG_LEVEL") == "debug", "la variable du processus"
    assert linux.environment_value(environ, "PORT") is None, "une variable absente n'a pas de valeur"


def test_a_shell_settings_file_is_read_as_the_shell_would():
    from labgrader.remote import linux
    text = "# LOG_LEVEL=debug\nLOG_LEVEL=debug\nexport PORT=8080\nLOG_LEVEL='info'\n"
    assert linux.shell_setting(text, "LOG_LEVEL") == "info", "la dernière affectation l'emporte, commentaires ignorés"
    assert linux.shell_setting(text, "PORT") == "8080", "export est lu"
    assert linux.shell_setting(text, "USER") is None, "une variable absente n'a pas de valeur"

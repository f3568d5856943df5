"""A1.1 — Intégration d'un nouveau poste : what the lab shows of the candidate's work on the workstation.

Each check answers one question about the lab and names its criterion; the grid is the report's job.
What the brief asks for (names, OU, user, ports) comes from the scenario's `expected:` values."""
import pytest

from labgrader.remote import linux
from labgrader.remote.zabbix import INTERFACE_AVAILABLE, AGENT_INTERFACE

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def zabbix_host(supervision, scenario):
    """The workstation's host in the supervision (None when the candidate has not declared it)."""
    return supervision.host(scenario.expect("zabbix_host"))


# --- CE.1 Le matériel assemblé est fonctionnel --------------------------------------------------------------

@criterion("A1.1/CE.1", title="Aucun paquet n'est resté à moitié installé ou configuré", impact=0.7)
def test_the_package_system_is_consistent(workstation):
    problems = linux.package_problems(workstation)
    assert problems == "", f"dpkg --audit reports: {problems}"


@criterion("A1.1/CE.1", title="Le poste démarre sans service en échec", impact=0.7)
def test_no_system_unit_has_failed(workstation):
    assert linux.failed_units(workstation) == []


# --- CE.2 Le matériel est visible dans l'outil de supervision -----------------------------------------------

@criterion("A1.1/CE.2", title="Le poste est déclaré comme hôte dans la supervision", impact=1.0)
def test_the_workstation_is_a_host_of_the_supervision(zabbix_host, scenario):
    assert zabbix_host is not None, f"no host {scenario.expect('zabbix_host')} in Zabbix"


@criterion("A1.1/CE.2", title="L'agent de supervision du poste est joignable", impact=0.7)
def test_its_agent_interface_is_available(supervision, zabbix_host, scenario, eventually):
    assert zabbix_host is not None, f"no host {scenario.expect('zabbix_host')} in Zabbix"

    def agent_available():
        interfaces = supervision.host(scenario.expect("zabbix_host"))["interfaces"]
        agents = [i for i in interfaces if i["type"] == AGENT_INTERFACE]
        assert agents, "the host has no agent interface"
        assert any(i["available"] == INTERFACE_AVAILABLE for i in agents), (
            f"agent interface not available: {[i['error'] or 'not polled yet' for i in agents]}")
    eventually(agent_available, timeout=120, interval=5)


@criterion("A1.1/CE.2", title="La supervision reçoit des valeurs récentes de processeur, mémoire et disque",
           impact=0.7)
def test_it_reports_recent_cpu_memory_and_disk_values(supervision, zabbix_host, scenario, eventually):
    assert zabbix_host is not None, f"no host {scenario.expect('zabbix_host')} in Zabbix"
    metrics = list(scenario.expect("supervised_metrics"))

    def values_received():
        recent = supervision.recent_values(zabbix_host["hostid"], metrics)
        missing = [metric for metric, items in recent.items() if not items]
        assert not missing, f"no value in the last 10 minutes for: {', '.join(missing)}"
    eventually(values_received, timeout=120, interval=5)


# --- CE.3 Installé et intégré conformément aux besoins du client ----------------------------------------------

@criterion("A1.1/CE.3", title="Le nom d'hôte suit la règle de nommage du brief", impact=0.5)
def test_the_hostname_follows_the_naming_rule(workstation, scenario):
    assert linux.hostname(workstation) == scenario.expect("workstation_hostname")


@criterion("A1.1/CE.3", title="Le fuseau horaire est celui du brief", impact=0.3)
def test_the_time_zone_is_the_one_of_the_brief(workstation, scenario):
    assert linux.timezone(workstation) == scenario.expect("timezone")


@criterion("A1.1/CE.3", title="Le compte ordinateur du poste est dans l'OU demandée", impact=0.7)
def test_the_computer_account_is_in_the_ou_of_the_brief(directory, scenario):
    name = scenario.expect("workstation_hostname")
    computer = directory.computer(name)
    assert computer is not None, f"no computer account {name.upper()}$ in the domain"
    assert directory.in_ou(computer.dn, scenario.expect("workstation_ou")), (
        f"{computer.dn} is not in the OU {scenario.expect('workstation_ou')}")


# --- CE.4 Un utilisateur se connecte avec des identifiants du domaine -------------------------------------

@criterion("A1.1/CE.4", title="Le poste est membre du domaine", impact=0.5)
def test_the_workstation_is_joined_to_the_domain(workstation, inventory):
    joined, said = linux.domain_join(workstation, inventory.domain.name)
    assert joined, f"adcli testjoin: {said}"


@criterion("A1.1/CE.4", title="L'utilisateur ouvre une session sur le poste avec ses identifiants du domaine",
           impact=1.0)
def test_the_user_logs_on_with_domain_credentials(lab, scenario, inventory):
    user = scenario.expect("logon_user")
    attempt = lab.logon(scenario.expect("workstation"), f"{user}@{inventory.domain.name}",
                        lab.secret(f"user_password:{user}"))
    assert attempt.accepted, f"{user}@{inventory.domain.name} could not log on: {attempt.reason}"
    assert f"{user}@{inventory.domain.name}" in attempt.identity, f"logged on as {attempt.identity}, not a domain user"


# --- CE.5 Bonnes pratiques de cybersécurité -------------------------------------------------------------------

@criterion("A1.1/CE.5", title="Le pare-feu refuse par défaut et n'ouvre que les ports du brief", impact=1.0)
def test_the_host_firewall_is_active_with_the_expected_rules(workstation, scenario):
    ruleset = linux.firewall_ruleset(workstation)
    assert linux.input_policy(ruleset) == "drop", "no input chain with a drop policy: the firewall is open"
    expected = {int(port) for port in scenario.expect("open_tcp_ports")}
    assert linux.accepted_tcp_ports(ruleset) == expected


@criterion("A1.1/CE.5", title="root ne peut pas se connecter en SSH avec un mot de passe", impact=1.0)
def test_root_cannot_log_on_over_ssh_with_a_password(workstation):
    assert linux.sshd_setting(workstation, "PermitRootLogin") in ("no", "prohibit-password", "without-password")


@criterion("A1.1/CE.5", title="Les mises à jour de sécurité automatiques sont configurées", impact=0.7)
def test_automatic_security_updates_are_configured(workstation):
    assert workstation.testinfra.package("unattended-upgrades").is_installed
    assert linux.apt_setting(linux.apt_config(workstation), "APT::Periodic::Unattended-Upgrade") == "1"


@criterion("A1.1/CE.5", title="Aucun compte local n'a de mot de passe vide", impact=1.0)
def test_no_local_account_has_an_empty_password(workstation):
    assert linux.accounts_without_password(workstation) == []

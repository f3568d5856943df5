"""A1.1 — Intégration d'un nouveau poste : what the lab shows of the candidate's work on the workstation.

Each check answers one question about the lab and names its criterion; the grid is the report's job.
What the brief asks for (names, OU, user, ports) comes from the scenario's `expected:` values.

The workstation is restarted once, before any check reads it: "starts without errors" is judged on a real
start, and whatever must last (firewall rules, the static host name, enabled services, the domain logon) is
judged on the restarted machine, never on a state typed in a shell that the next start forgets. Facts are
taken from the vantage point that proves them: the DC for the computer account and the logon it
authenticated, the grader and zbx1 for the firewall, the Zabbix server for the agent's interface and values."""
import pytest

from labgrader.remote import linux
from labgrader.remote.ldap import escape
from labgrader.remote.zabbix import (AGENT_INTERFACE, HOST_MONITORED, INTERFACE_AVAILABLE, ZABBIX_AGENT_ACTIVE_ITEM,
                                     ZABBIX_AGENT_ITEM)

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def workstation(lab, scenario):
    """The workstation the brief is about, over SSH, once restarted by the grader (bounded wait)."""
    host = lab.ssh(scenario.expect("workstation"))
    linux.reboot(host)
    return host


@pytest.fixture(scope="module")
def zabbix_host(supervision, scenario):
    """The workstation's host in the supervision (None when the candidate has not declared it)."""
    return supervision.host(scenario.expect("zabbix_host"))


def _short(name: str) -> str:
    return name.split(".")[0].lower()


def _interfaces_to_workstation(host: dict, address: str, names: set[str]) -> list[dict]:
    """The host's agent interfaces that reach the workstation: its address, or a DNS name of the workstation."""
    return [i for i in host["interfaces"] if i["type"] == AGENT_INTERFACE and
            ((i.get("useip", "1") == "1" and i["ip"] == address) or
             (i.get("useip") == "0" and i["dns"].lower().rstrip(".") in names))]


def _shown(interface: dict) -> str:
    return interface["ip"] if interface.get("useip", "1") == "1" else interface["dns"]


def _workstation_names(scenario, inventory) -> set[str]:
    name = scenario.expect("workstation_hostname").lower()
    return {name} | ({f"{name}.{inventory.domain.name.lower()}"} if inventory.domain else set())


def _require_host(zabbix_host, scenario) -> dict:
    name = scenario.expect("zabbix_host")
    assert zabbix_host is not None, (f"Aucun hôte « {name} » dans Zabbix ; le brief demande que le poste y "
                                     "apparaisse sous ce nom.")
    return zabbix_host


# --- CE.1 Le matériel assemblé est fonctionnel --------------------------------------------------------------

@criterion("A1.1/CE.1", title="Aucun paquet n'est resté à moitié installé ou sans ses dépendances", impact=0.7)
def test_the_package_system_is_consistent(workstation):
    problems = linux.package_problems(workstation)
    assert not problems, (f"dpkg --audit signale des paquets restés à moitié installés ou configurés : "
                          f"{' '.join(problems.split())[:400]} ; le brief demande que l'installation interrompue "
                          "soit terminée.")
    broken = linux.broken_dependencies(workstation)
    assert not broken, (f"apt-get check signale des dépendances non satisfaites : {' '.join(broken.split())[:400]} ; "
                        "le brief demande une installation terminée, donc des paquets cohérents.")


@criterion("A1.1/CE.1", title="Le poste redémarre sans service en échec", impact=0.7)
def test_no_system_unit_has_failed(workstation):
    failed = linux.failed_units(workstation)
    assert failed == [], (f"Après un redémarrage du poste par le correcteur, des unités sont en échec : "
                          f"{', '.join(failed)} ; le brief demande que le poste démarre sans erreur.")


# --- CE.2 Le matériel est visible dans l'outil de supervision -----------------------------------------------

@criterion("A1.1/CE.2", title="Le poste est déclaré et supervisé comme hôte dans Zabbix", impact=1.0)
def test_the_workstation_is_a_host_of_the_supervision(zabbix_host, scenario):
    host = _require_host(zabbix_host, scenario)
    assert host["status"] == HOST_MONITORED, (f"L'hôte « {host['host']} » existe dans Zabbix mais sa supervision "
                                              "est désactivée ; le brief demande qu'il soit supervisé.")


@criterion("A1.1/CE.2", title="L'interface agent de l'hôte est celle du poste, et elle est disponible", impact=0.7)
def test_its_agent_interface_is_available(supervision, zabbix_host, scenario, inventory, workstation, eventually):
    host = _require_host(zabbix_host, scenario)
    address, names = workstation.address, _workstation_names(scenario, inventory)
    agents = [i for i in host["interfaces"] if i["type"] == AGENT_INTERFACE]
    assert agents, (f"L'hôte « {host['host']} » n'a aucune interface agent dans Zabbix ; le brief demande que "
                    f"l'agent du poste ({address}) soit joignable.")
    assert _interfaces_to_workstation(host, address, names), (
        f"L'interface agent de l'hôte « {host['host']} » pointe vers {', '.join(_shown(i) for i in agents)}, pas "
        f"vers le poste ({address}) : Zabbix interroge une autre machine ; le brief demande l'agent du poste.")

    def agent_available():
        ours = _interfaces_to_workstation(supervision.host(host["host"]), address, names)
        assert any(i["available"] == INTERFACE_AVAILABLE for i in ours), (
            f"L'interface agent du poste ({address}) n'est pas disponible dans Zabbix "
            f"({'; '.join(i['error'] or 'pas encore interrogée' for i in ours)}) ; le brief demande que l'agent "
            "soit joignable.")
    eventually(agent_available, timeout=120, interval=5)


@criterion("A1.1/CE.2", title="L'agent du poste remonte des valeurs récentes de processeur, mémoire et disque",
           impact=0.7)
def test_it_reports_recent_cpu_memory_and_disk_values(supervision, zabbix_host, scenario, inventory, workstation,
                                                      eventually):
    host = _require_host(zabbix_host, scenario)
    metrics = list(scenario.expect("supervised_metrics"))
    address = workstation.address
    ours = {i["interfaceid"] for i in _interfaces_to_workstation(host, address, _workstation_names(scenario, inventory))}
    active_allowed: list[bool] = []  # whether the workstation's agent announces this host (active checks)

    def from_the_workstation(item: dict) -> bool:
        if item["type"] == ZABBIX_AGENT_ITEM:
            return item["interfaceid"] in ours
        if item["type"] == ZABBIX_AGENT_ACTIVE_ITEM:
            if not active_allowed:
                active_allowed.append(linux.agent_hostname(workstation) == host["host"])
            return active_allowed[0]
        return False

    def values_received():
        items = supervision.recent_items(host["hostid"], metrics)
        missing = [m for m in metrics if not any(i["key_"].startswith(m) and from_the_workstation(i) for i in items)]
        assert not missing, (
            f"Zabbix n'a reçu de l'agent du poste ({address}) aucune valeur des 10 dernières minutes pour : "
            f"{', '.join(missing)} ; le brief demande que l'agent remonte processeur, mémoire et disque.")
    if not ours and not any(i["type"] == ZABBIX_AGENT_ACTIVE_ITEM for i in supervision.items(host["hostid"])):
        values_received()  # no interface and no active item can bring the workstation's values: no need to wait
    eventually(values_received, timeout=120, interval=5)


# --- CE.3 Installé et intégré conformément aux besoins du client ----------------------------------------------

@criterion("A1.1/CE.3", title="Le nom d'hôte permanent suit la règle de nommage du brief", impact=0.5)
def test_the_hostname_follows_the_naming_rule(workstation, scenario):
    expected = scenario.expect("workstation_hostname")
    static, running = linux.static_hostname(workstation), linux.hostname(workstation)
    assert _short(static) == expected.lower(), (
        f"Le nom d'hôte permanent du poste (/etc/hostname, celui qu'il reprend à chaque démarrage) est "
        f"« {static} » ; le brief demande {expected}.")
    assert _short(running) == expected.lower(), (
        f"Après redémarrage le poste porte le nom « {running} » ; le brief demande {expected}.")


@criterion("A1.1/CE.3", title="Le fuseau horaire est celui du brief", impact=0.3)
def test_the_time_zone_is_the_one_of_the_brief(workstation, scenario):
    zone = linux.timezone(workstation)
    assert zone == scenario.expect("timezone"), (
        f"Le fuseau horaire du poste (timedatectl, /etc/localtime) est « {zone or 'non défini'} » ; le brief "
        f"demande {scenario.expect('timezone')}.")


@criterion("A1.1/CE.3", title="Le compte ordinateur du poste est dans l'OU demandée", impact=0.7)
def test_the_computer_account_is_in_the_ou_of_the_brief(directory, scenario):
    name, ou = scenario.expect("workstation_hostname"), scenario.expect("workstation_ou")
    computer = directory.computer(name)
    assert computer is not None, (f"Le contrôleur de domaine n'a aucun compte ordinateur {name.upper()}$ ; le brief "
                                  f"demande que le poste {name} rejoigne le domaine, son compte dans {ou}.")
    assert directory.in_ou(computer.dn, ou), (f"Le compte ordinateur du poste est rangé dans {computer.dn} ; le brief "
                                              f"demande l'unité d'organisation {ou}.")


# --- CE.4 Un utilisateur se connecte avec des identifiants du domaine -------------------------------------

@criterion("A1.1/CE.4", title="Le poste est membre du domaine, vu du poste et du contrôleur", impact=0.5)
def test_the_workstation_is_joined_to_the_domain(workstation, directory, inventory):
    domain = inventory.domain.name if inventory.domain else ""
    joined, said = linux.domain_join(workstation, domain)
    assert joined, (f"Le poste ne s'authentifie pas auprès du domaine {domain} avec son compte machine (adcli "
                    f"testjoin : {' '.join(said.split())[:300]}) ; le brief demande qu'il rejoigne le domaine.")
    name = _short(linux.static_hostname(workstation))
    assert directory.computer(name) is not None, (
        f"Le contrôleur de domaine n'a aucun compte ordinateur {name.upper()}$ pour ce poste nommé {name} (joint "
        "sous un autre nom puis renommé ?) ; le brief demande que ce poste soit membre du domaine.")


def _logons_seen_by_the_dc(directory, user: str) -> tuple[int, int]:
    """(logonCount, lastLogon) of the user on the DC: both move when the DC authenticates the user."""
    found = directory.search(f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={escape(user)}))",
                             ["logonCount", "lastLogon"])
    assert found, f"Le compte {user} n'existe pas dans l'annuaire ; le brief demande qu'Alice se connecte avec lui."

    def number(value) -> int:
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e7)
        return int(value or 0)
    return number(found[0].first("logonCount", 0)), number(found[0].first("lastLogon", 0))


@criterion("A1.1/CE.4", title="L'utilisateur ouvre une session avec ses identifiants du domaine, vérifiés par le DC",
           impact=1.0)
def test_the_user_logs_on_with_domain_credentials(lab, scenario, inventory, workstation, directory):
    user = scenario.expect("logon_user")
    domain = inventory.domain.name if inventory.domain else ""
    login = f"{user}@{domain}"
    password = lab.secret(f"user_password:{user}")
    for attempt_number in (1, 2):  # right after a start, sssd may still be offline and answer from its cache
        before = _logons_seen_by_the_dc(directory, user)
        attempt = lab.logon(scenario.expect("workstation"), login, password)
        assert attempt.accepted, (f"{login} n'a pas pu ouvrir de session sur le poste : {attempt.reason} ; le brief "
                                  "demande qu'Alice se connecte avec son identifiant du domaine.")
        uid = linux.uid_of(attempt.identity)
        known = linux.directory_account(workstation, login)
        assert known, (f"Une session s'est ouverte sous {login} ({attempt.identity}) mais sssd ne connaît pas ce "
                       "compte du domaine : ce n'est pas un compte de l'annuaire ; le brief demande le compte du "
                       "domaine.")
        assert uid == linux.passwd_uid(known), (
            f"La session ouverte sous {login} a l'uid {uid} ({attempt.identity}), pas celui du compte du domaine "
            f"({linux.passwd_uid(known)}) : c'est un compte local ; le brief demande le compte du domaine.")
        local = linux.local_account(workstation, uid)
        assert not local, (f"L'uid {uid} de la session est celui d'un compte local du poste (« {local.split(':')[0]} » "
                           "dans /etc/passwd) ; le brief demande le compte du domaine.")
        after = _logons_seen_by_the_dc(directory, user)
        if after[0] > before[0] or after[1] > before[1]:
            return
    assert False, (f"Le contrôleur de domaine n'a enregistré aucune authentification de {user} pendant ces ouvertures "
                   f"de session (logonCount {before[0]} → {after[0]}) : le mot de passe n'a pas été vérifié par le "
                   "domaine ; le brief demande une connexion avec les identifiants du domaine.")


# --- CE.5 Bonnes pratiques de cybersécurité -------------------------------------------------------------------

@criterion("A1.1/CE.5", title="Le pare-feu refuse par défaut, même après redémarrage, et n'ouvre que les ports du "
                              "brief aux machines du brief", impact=1.0)
def test_the_host_firewall_is_active_with_the_expected_rules(workstation, lab, role_host, scenario):
    ruleset = linux.firewall_ruleset(workstation)
    assert linux.input_policy(ruleset) == "drop", (
        "Après un redémarrage du poste, aucune chaîne nftables sur l'entrée ne refuse par défaut (policy drop) : "
        "le pare-feu est ouvert ou ses règles ne sont pas chargées au démarrage ; le brief demande un pare-feu "
        "nftables actif qui refuse par défaut ce qui entre.")
    wanted = {int(port) for port in scenario.expect("open_tcp_ports")}
    supervision_only = {int(port) for port in scenario.expect("supervision_only_tcp_ports")}
    grader, to_all = linux.grader_address(workstation), wanted - supervision_only
    for port in sorted(to_all):
        outcome = linux.probe_from_grader(workstation, port)
        assert outcome == "open", (f"Le port {port} du poste ne répond pas depuis {grader} ({outcome}) ; le brief "
                                   f"demande qu'il reste ouvert.")
    listening = linux.listening_tcp_ports(workstation)
    for port in sorted((listening | supervision_only) - to_all):
        outcome = linux.probe_from_grader(workstation, port)
        why = "réservé à zbx1" if port in supervision_only else "hors de la liste du brief"
        assert outcome != "open", (f"Le port {port} du poste ({why}) accepte les connexions de {grader}, qui n'est "
                                   f"pas zbx1 ; le brief n'ouvre que {', '.join(map(str, sorted(to_all)))} à tous, "
                                   f"et {', '.join(map(str, sorted(supervision_only)))} à zbx1 seulement.")
    zabbix = lab.ssh(role_host("zabbix"))
    for port in sorted(supervision_only & listening):  # nothing listening: the agent's fault, judged in CE.2
        outcome = linux.probe_from(zabbix, workstation.address, port)
        assert outcome == "open", (f"zbx1 ne peut pas joindre le port {port} du poste ({outcome}) ; le brief demande "
                                   "qu'il lui soit ouvert.")


@criterion("A1.1/CE.5", title="root ne peut pas se connecter en SSH avec un mot de passe", impact=1.0)
def test_root_cannot_log_on_over_ssh_with_a_password(workstation, inventory):
    sources = [linux.grader_address(workstation)] + [h.address for h in inventory.hosts.values()
                                                     if h.address != workstation.address]
    allowed = []
    for address in dict.fromkeys(sources):
        settings = linux.sshd_settings(workstation, user="root", addr=address)
        if linux.root_password_logon_allowed(settings):
            allowed.append(f"{address} (PermitRootLogin {settings.get('permitrootlogin')}, PasswordAuthentication "
                           f"{settings.get('passwordauthentication')})")
    assert not allowed, (f"sshd (sshd -T, blocs Match compris) laisserait root se connecter par mot de passe depuis "
                         f"{'; '.join(allowed)} ; le brief demande qu'aucune connexion SSH de root par mot de passe "
                         "ne soit possible.")


@criterion("A1.1/CE.5", title="Les mises à jour de sécurité automatiques sont réellement planifiées", impact=0.7)
def test_automatic_security_updates_are_configured(workstation):
    assert linux.package_installed(workstation, "unattended-upgrades"), (
        "Le paquet unattended-upgrades n'est pas installé ; le brief demande des mises à jour de sécurité "
        "automatiques.")
    dump = linux.apt_config(workstation)
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        value = linux.apt_setting(dump, key)
        assert linux.periodic_enabled(value), (
            f"{key} vaut « {value or 'non défini'} » : APT ne lancerait pas ce travail ; le brief demande des "
            "mises à jour de sécurité automatiques.")
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        enabled, active = linux.unit_state(workstation, timer)
        assert (enabled, active) == ("enabled", "active"), (
            f"Le minuteur {timer} est {enabled} / {active} après redémarrage : aucune mise à jour automatique ne "
            "serait lancée ; le brief demande des mises à jour de sécurité automatiques.")
    assert linux.security_origins(dump), (
        "Aucune origine « security » dans Unattended-Upgrade::Origins-Pattern : unattended-upgrades "
        "n'installerait pas les mises à jour de sécurité ; le brief les demande.")


@criterion("A1.1/CE.5", title="Aucun compte local n'a de mot de passe vide", impact=1.0)
def test_no_local_account_has_an_empty_password(workstation):
    empty = linux.accounts_without_password(workstation)
    assert empty == [], (f"Des comptes locaux n'ont aucun mot de passe : {', '.join(empty)} ; le brief demande "
                         "qu'aucun compte local ne soit sans mot de passe.")

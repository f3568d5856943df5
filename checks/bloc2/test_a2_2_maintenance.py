"""A2.2 — Maintenance préventive et corrective : the parc after the candidate's intervention.

Each fact is taken from where it shows: the intranet's answer and the repository's index from the grader (what
a user and apt see), a file restored from the backup by the grader's own restic, the supervision's triggers
and items from its API, the package database and the data over SSH. The fixed version, the data's checksums,
the thresholds, the trigger names and expressions come from the scenario's `expected:`; the candidate is root on every
machine, the repository included, so its index says what else the suite offers, never what the fix is."""
import base64
import hashlib
import time

import pytest

from labgrader.remote import debian_packages, linux, web
from labgrader.remote.base import HostUnreachable
from labgrader.remote.restic import NoRepository, NotInSnapshot, ResticRepository, parse_repository, snapshot_epoch
from labgrader.remote.zabbix import HOST_MONITORED

criterion = pytest.mark.criterion

ENABLED, OK_VALUE = "0", "0"  # Zabbix: trigger status enabled, trigger value OK
FRESH_DATA_S = 300  # an item that got no value for 5 minutes (polled every 30 s) no longer supervises anything
LOG_WATCH_S = 6  # debug logging writes ≈ 8 KiB/s: over 6 s, ≥ 48 KiB; info writes a line per request
LOG_GROWTH_LIMIT = 16 << 10
BACKUP_RUN_S = 180  # the job on 64 MiB of data takes seconds; a stuck SFTP connection must not hold the run
RUN_SLACK_S = 30  # a run of the timer the grader's start joined began a little earlier
DPKG_FORMAT = "${Package} ${Version} ${db:Status-Status}\\n"


@pytest.fixture(scope="module")
def server(lab, scenario):
    return lab.ssh(scenario.expect("app_server"))


@pytest.fixture(scope="module")
def parc(lab, scenario):
    return {name: lab.ssh(name) for name in scenario.expect("parc_hosts")}


def _address(inventory, name: str) -> str:
    return inventory.hosts[name].address


def _service_url(inventory, scenario, path: str) -> str:
    return f"http://{_address(inventory, scenario.expect('app_server'))}:{scenario.expect('service_port')}{path}"


def _intranet(inventory, scenario, path: str) -> web.Answer:
    """The intranet's answer from the grader. A refused connection is the lab's state (nothing listens: the service
    is down), a verdict; no answer at all is not."""
    address, port = _address(inventory, scenario.expect("app_server")), scenario.expect("service_port")
    probe = linux.tcp_probe(address, port)
    if probe == "silent":
        raise HostUnreachable(f"{address}:{port} ne répond pas du tout (ni accepté ni refusé)")
    assert probe == "open", (f"L'intranet ne répond pas : le port {port} de {scenario.expect('app_server')} refuse "
                             "la connexion, le service n'est pas en marche.")
    return web.get(_service_url(inventory, scenario, path))


def _running_version(inventory, scenario) -> str:
    """The version the running intranet says it is (its code in memory, not the package on disk)."""
    answer = _intranet(inventory, scenario, scenario.expect("version_path"))
    prefix = scenario.expect("version_answer_prefix")
    assert answer.status == 200 and answer.body.startswith(prefix), (
        f"L'intranet ne donne pas sa version (HTTP {answer.status} : « {answer.body.strip()[:120]} ») : il ne répond "
        "pas normalement.")
    return answer.body.strip().removeprefix(prefix).split()[0]


# --- CE.7 Les patches de sécurité sont installés sans erreur technique ------------------------------------------

def _installed(server, package: str) -> dict[str, str]:
    return debian_packages.parse_installed(server.run("/usr/bin/dpkg-query -W -f %s %s", DPKG_FORMAT, package).stdout)


@criterion("A2.2/CE.7", title="La version corrigée de l'intranet est installée sur le serveur", impact=1.0)
def test_the_fixed_version_is_installed(server, scenario):
    package, fixed = scenario.expect("package"), scenario.expect("package_fixed_version")
    installed = _installed(server, package)
    assert package in installed, f"Le paquet {package} n'est plus installé sur {server.name} : l'intranet a disparu."
    assert debian_packages.at_least(installed[package], fixed), (
        f"{server.name} a {package} {installed[package]} ; le correctif de sécurité est la version {fixed} "
        f"(suite {scenario.expect('security_suite')}).")


@criterion("A2.2/CE.7", title="Le correctif est en service : l'intranet qui répond est la version corrigée", impact=1.0)
def test_the_running_intranet_is_the_fixed_version(server, inventory, scenario):
    package, fixed = scenario.expect("package"), scenario.expect("package_fixed_version")
    running = _running_version(inventory, scenario)
    on_disk = _installed(server, package).get(package, "absent")
    why = ("le paquet installé est pourtant à jour : le service n'a pas été redémarré depuis la mise à jour, l'ancien "
           "code vulnérable tourne encore" if on_disk != "absent" and debian_packages.at_least(on_disk, fixed)
           else f"le paquet installé est {on_disk} : la mise à jour n'a pas été faite")
    assert debian_packages.at_least(running, fixed), (
        f"L'intranet en service répond « {running} » alors que le correctif est la version {fixed} ; {why}.")


@criterion("A2.2/CE.7", title="Aucune mise à jour de sécurité n'est en attente sur le parc, dont les paquets sont "
           "cohérents", impact=0.8)
def test_no_machine_has_an_update_pending_nor_a_broken_package(parc, inventory, scenario):
    repository = f"http://{_address(inventory, scenario.expect('repository_server'))}/debian/dists/" \
                 f"{scenario.expect('security_suite')}"
    architectures = debian_packages.release_architectures(web.get(f"{repository}/Release").body)
    # The fix the brief names is due whatever the repository's index says now.
    offered = debian_packages.merge({scenario.expect("package"): scenario.expect("package_fixed_version")}, *(
        debian_packages.parse_index(debian_packages.fetch_index(f"{repository}/main/binary-{arch}/Packages"))
        for arch in architectures))
    late = []
    for name, host in parc.items():
        installed = debian_packages.parse_installed(host.check_output("/usr/bin/dpkg-query -W -f %s", DPKG_FORMAT))
        late += [f"{name} : {p.package} {p.installed} → {p.offered}" for p in debian_packages.pending(installed, offered)]
    assert not late, f"Mises à jour de sécurité encore en attente : {' ; '.join(late)}."
    for name, host in parc.items():  # an upgrade left half-done is not a patch installed without error
        problems = linux.package_problems(host)
        assert not problems, (f"dpkg --audit signale sur {name} des paquets à moitié installés ou configurés : "
                              f"{' '.join(problems.split())[:300]}.")
        broken = linux.broken_dependencies(host)
        assert not broken, f"apt-get check signale sur {name} des dépendances non satisfaites : {broken[:300]}."


# --- CE.9 La situation nominale est rétablie -------------------------------------------------------------------

@criterion("A2.2/CE.9", title="L'intranet répond et redémarrera avec le serveur", impact=1.0)
def test_the_intranet_answers_and_is_enabled(server, inventory, scenario):
    answer = _intranet(inventory, scenario, "/")
    assert answer.status == 200, f"L'intranet répond HTTP {answer.status} à sa page d'accueil : il n'est pas rétabli."
    unit = f"{scenario.expect('service')}.service"
    enabled, active = linux.unit_state(server, unit)
    assert active == "active", (f"Le service {unit} est « {active} » : ce qui répond n'est pas le service du système "
                                "(lancé à la main ?), rien ne le relancera s'il s'arrête.")
    assert enabled == "enabled", (f"Le service {unit} est « {enabled} » au démarrage : il répond aujourd'hui mais ne "
                                  "repartira pas au prochain redémarrage du serveur.")
    pid, _environ = linux.service_process(server, unit)
    listening = linux.listening_pids(server.check_output("/usr/bin/ss -Hltnp"), scenario.expect("service_port"))
    assert pid in listening, (f"Le port {scenario.expect('service_port')} est tenu par le processus "
                              f"{sorted(listening) or '?'} et non par le service {unit} (PID {pid}) : l'intranet qui "
                              "répond a été lancé à la main.")


@criterion("A2.2/CE.9", title="L'espace des données est libéré sans rien perdre et ne se remplit plus", impact=1.0)
def test_the_data_filesystem_has_room_kept_the_client_files_and_stops_filling(server, scenario):
    data, threshold = scenario.expect("data_path"), scenario.expect("data_threshold_percent")
    used = server.check_output("/usr/bin/df --output=pcent %s", data).split()[-1].rstrip("%")
    assert int(used) < threshold, f"{data} est rempli à {used} % sur {server.name} (seuil de la supervision : {threshold} %)."
    for line in scenario.expect("client_files_sha256"):  # read over SSH, hashed on the grader
        expected, path = line.split(maxsplit=1)
        result = server.run("/usr/bin/base64 -w0 %s", path)
        assert result.ok, f"{path} a disparu de {server.name} : des données de l'entreprise ont été perdues."
        digest = hashlib.sha256(base64.b64decode(result.stdout)).hexdigest()
        assert digest == expected, f"{path} a été modifié (SHA-256 {digest[:12]}…) : les données clients ont changé."
    held = linux.open_deleted_files(server, data)
    assert not held, (f"Des fichiers supprimés restent ouverts par un processus ({', '.join(held[:3])}) : leur place "
                      "n'est pas rendue tant que le processus tourne, l'espace n'est pas vraiment libéré.")
    log = scenario.expect("log_file")
    kind = server.run("/usr/bin/stat -c %s %s", "%F", log)
    assert kind.ok, f"Le journal {log} a été supprimé : l'intranet n'a plus de journal, et la cause n'est pas traitée."
    assert kind.stdout.strip() in ("regular file", "regular empty file"), (
        f"Le journal {log} n'est plus un fichier ({kind.stdout.strip()}) : rediriger le journal ne traite pas la "
        "cause du remplissage.")
    unit, variable = f"{scenario.expect('service')}.service", scenario.expect("log_level_variable")
    _pid, environ = linux.service_process(server, unit)
    where = "celui du service en cours" if environ is not None else f"réglé dans {scenario.expect('log_level_file')}"
    level = (linux.environment_value(environ, variable) if environ is not None else
             linux.shell_setting(server.run("/usr/bin/cat %s", scenario.expect("log_level_file")).stdout, variable))
    assert (level or "").strip().lower() != "debug", (
        f"{variable}=debug est toujours {where} : la cause du remplissage n'est pas corrigée ; vider le journal ne "
        "suffit pas.")
    before = int(server.check_output("/usr/bin/stat -c %s %s", "%s", log) or 0)
    time.sleep(LOG_WATCH_S)
    after = int(server.check_output("/usr/bin/stat -c %s %s", "%s", log) or 0)
    grown = after - before
    assert grown < LOG_GROWTH_LIMIT, (
        f"{log} a grossi de {grown // 1024} Kio en {LOG_WATCH_S} s : la cause du remplissage (le journal en mode "
        f"{scenario.expect('log_level_variable')}=debug) est toujours active dans le service en cours ; vider le "
        "fichier ne suffit pas.")


@criterion("A2.2/CE.9", title="La sauvegarde planifiée fonctionne : le correcteur la lance et en restaure les "
           "fichiers clients", impact=1.0)
def test_the_scheduled_backup_works_and_restores(lab, server, inventory, scenario):
    # The job's last result says how it ran before the grading, not whether its settings work now: the grader
    # runs it as the timer would, then restores the client files from the snapshot that run made.
    service, timer = scenario.expect("backup_service"), scenario.expect("backup_timer")
    for question, wanted in (("is-active", "active"), ("is-enabled", "enabled")):
        state = server.run("/usr/bin/systemctl %s %s", question, timer).stdout.strip()
        assert state == wanted, f"La minuterie {timer} est « {state} » : les sauvegardes ne sont plus planifiées."
    started = time.time()
    for _attempt in range(2):  # a run the timer had just begun joins our start with the settings it read then
        run = server.run("/usr/bin/systemctl start %s", service, timeout=BACKUP_RUN_S)
        result = server.check_output("/usr/bin/systemctl show -p Result --value %s", service).strip()
        if run.ok and result == "success":
            break
    assert run.ok and result == "success", (
        f"Le correcteur a lancé {service} comme le ferait la minuterie : il échoue (« {result} ») ; la sauvegarde "
        "planifiée ne fonctionne pas.")
    backup = scenario.expect("backup_server")
    settings = server.check_output("/usr/bin/cat %s", scenario.expect("backup_env_file"))
    configured = parse_repository(linux.shell_setting(settings, "RESTIC_REPOSITORY") or "")
    nas = {backup, _address(inventory, backup), f"{backup}.{inventory.domain.name}" if inventory.domain else backup}
    assert configured and configured[0] in nas, (
        f"La sauvegarde est réglée vers « {configured or 'aucun dépôt SFTP'} » : ce n'est pas le NAS {backup}.")
    ssh = inventory.hosts[backup].transports.ssh
    repository = ResticRepository(backup, address=_address(inventory, backup), port=ssh.port, user=ssh.user,
                                  key_file=ssh.key_file, host_key_line=ssh.host_key,
                                  known_hosts=inventory.known_hosts_file(), path=configured[1],
                                  password=lab.secret("restic_repository_password"), recorder=lab.recorder)
    try:
        snapshots = repository.snapshots()
    except NoRepository:
        snapshots = None
    assert snapshots is not None, f"Il n'y a pas de dépôt restic à {configured[1]} sur {backup}."
    assert snapshots, f"Le dépôt de sauvegarde {configured[1]} de {backup} ne contient aucun instantané."
    latest = snapshots[-1]
    assert snapshot_epoch(latest.time) > started - RUN_SLACK_S, (
        f"La sauvegarde lancée par le correcteur n'a laissé aucun instantané dans {configured[1]} "
        f"sur {backup} (le dernier date de {latest.time}) : elle écrit ailleurs que dans le dépôt du NAS.")
    for line in scenario.expect("client_files_sha256"):
        expected, path = line.split(maxsplit=1)
        try:
            restored = repository.dump(latest.id, path)
        except NotInSnapshot:
            restored = None
        assert restored is not None, (f"{path} n'est pas dans l'instantané {latest.id} : la sauvegarde ne contient "
                                      "plus les données clients.")
        digest = hashlib.sha256(restored).hexdigest()
        assert digest == expected, (f"{path} restauré depuis l'instantané {latest.id} ne correspond pas à "
                                    "l'original : la sauvegarde ne protège pas les données clients.")


@criterion("A2.2/CE.9", title="Les alertes de la supervision sont résolues, pas réduites au silence", impact=1.0)
def test_the_alerts_are_resolved_not_silenced(supervision, scenario):
    host_name = scenario.expect("app_server")
    host = supervision.host(host_name)
    assert host is not None, f"L'hôte {host_name} a disparu de la supervision : ses alertes ne peuvent plus se lever."
    assert host["status"] == HOST_MONITORED, f"La supervision de {host_name} est désactivée : les alertes sont muettes."
    assert host.get("maintenance_status", "0") == "0", (
        f"{host_name} est en période de maintenance dans Zabbix (ou en sort depuis moins d'une minute) : ses alertes "
        "sont masquées, pas résolues.")
    names = scenario.expect("triggers_resolved_by_fix")
    triggers = {t["description"]: t for t in supervision.triggers(host["hostid"], names)}
    now = time.time()
    for name in names:
        trigger = triggers.get(name)
        assert trigger is not None, f"Le déclencheur « {name} » a été supprimé : l'alerte ne peut plus se lever."
        assert trigger["status"] == ENABLED, f"Le déclencheur « {name} » est désactivé : l'alerte est muette."
        wanted = scenario.expect("trigger_expressions")[name]
        assert " ".join(trigger["expression"].split()) == " ".join(wanted.split()), (
            f"Le déclencheur « {name} » a été modifié ({trigger['expression']} au lieu de {wanted}) : changer le seuil "
            "fait taire l'alerte sans résoudre le problème.")
        for item in trigger["items"]:
            assert item["status"] == ENABLED, f"L'élément {item['key_']} de « {name} » est désactivé."
            fresh = now - int(item.get("lastclock") or 0)
            assert fresh < FRESH_DATA_S, (f"L'élément {item['key_']} de « {name} » ne reçoit plus de valeurs depuis "
                                          f"{fresh / 60:.0f} min : l'alerte ne reflète plus l'état du serveur.")
        assert trigger["value"] == OK_VALUE, f"Le problème « {name} » est toujours ouvert dans la supervision."
    open_problems = [p["name"] for p in supervision.problems(host["hostid"]) if p["name"] in names]
    assert not open_problems, f"Problèmes encore ouverts : {', '.join(open_problems)}."


# --- Supporting evidence for the evaluator (never a verdict) ------------------------------------------------

@criterion("A2.2/CE.5", title="Le problème à escalader est laissé ouvert, sans être masqué", impact=0.3,
           supporting=True)
def test_the_problem_to_escalate_is_left_for_the_administrator(supervision, scenario):
    host = supervision.host(scenario.expect("escalation_host"))
    assert host is not None, f"L'hôte {scenario.expect('escalation_host')} a disparu de la supervision."
    name = scenario.expect("escalation_problem")
    triggers = supervision.triggers(host["hostid"], [name])
    assert triggers and triggers[0]["status"] == ENABLED, (
        f"Le déclencheur « {name} » a été supprimé ou désactivé : le brief demande d'escalader, pas de masquer.")
    assert host.get("maintenance_status", "0") == "0", (
        f"{scenario.expect('escalation_host')} a été mis en maintenance dans Zabbix : l'alerte à escalader est masquée.")
    suppressed = [p for p in supervision.problems(host["hostid"]) if p["name"] == name and p.get("suppressed") == "1"]
    assert not suppressed, f"Le problème « {name} » est masqué (supprimé de l'affichage) au lieu d'être escaladé."
    assert triggers[0]["value"] != OK_VALUE, (
        f"« {name} » n'est plus en problème alors qu'il ne se répare pas sur place : l'alerte a été modifiée.")


@criterion("A2.2/CE.6", title="Aucune permission élargie pour faire disparaître une panne", impact=0.3,
           supporting=True)
def test_no_permission_was_widened(server, lab, scenario):
    # Writable by anyone anywhere the repair touches; the backup's secrets readable by anyone.
    places = [scenario.expect("data_path"), "/etc/restic", scenario.expect("log_level_file"), "/root/.ssh"]
    widened = server.run("/usr/bin/find %s %s %s %s -xdev -perm -o+w ! -type l", *places).stdout.split()
    exposed = (server.run("/usr/bin/find %s -type f -perm -o+r", "/etc/restic").stdout.split() +
               server.run("/usr/bin/find %s -type f -name %s ! -name %s -perm -o+r", "/root/.ssh", "id_*",
                          "*.pub").stdout.split())
    nas = lab.ssh(scenario.expect("backup_server"))
    widened += nas.run("/usr/bin/find %s -xdev -perm -o+w ! -type l",
                       scenario.expect("backup_repository_path")).stdout.split()
    assert not widened, f"Fichiers ou dossiers modifiables par tous : {', '.join(widened[:10])}."
    assert not exposed, (
        f"Secrets de la sauvegarde lisibles par tous : {', '.join(exposed[:10])}.")


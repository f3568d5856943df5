"""A2.1 — Supervision du parc : every server of the parc sends its own health to the supervision, and its alerts
work.

The supervision's configuration says what the candidate meant; only its behaviour says what it does. So the
grader brings the brief's conditions about for real (remote/probes.py): it fills each data file system past the
brief's threshold, makes one backup run fail on the NAS's side, and expects Zabbix to raise a problem on that
host within the brief's time, then to clear it by itself once the grader has put the machine back. CPU and
memory cannot be driven without disturbing the grader's own machine (containers share its processor): for
those, the supervision must receive fresh values from the machine's own agent and hold an enabled trigger on them.
Hosts, paths, thresholds and times come from the scenario's `expected:`."""
import time

import pytest

from labgrader.remote import probes
from labgrader.remote.zabbix import (AGENT_INTERFACE, HOST_MONITORED, ZABBIX_AGENT_ACTIVE_ITEM, ZABBIX_AGENT_ITEM,
                                     compares_a_level)

criterion = pytest.mark.criterion

ENABLED, SUPPORTED = "0", "0"  # Zabbix: item or trigger enabled; item state normal / trigger state normal
DEPENDENT_ITEM = "18"  # a value computed from an agent item of the same host (Zabbix's own templates do this)
FRESH_DATA_S = 300
FILL_MARGIN_PERCENT = 4  # filled to the threshold + 4 points: a trigger set 5 points or more too high stays quiet
BACKUP_RUN_S = 180
# A trigger that opened in the 10 minutes before a probe flaps by itself (an age threshold under the timer's
# period) or fires on the grader's own connections: opening again during the probe proves nothing.
HISTORY_S = 600
PROBE_TIMEOUT_S = 600  # the check waits by design: twice the brief's bound, plus the grader's own steps
FAMILIES = {"cpu": ("system.cpu.util", "system.cpu.load"),
            "memory": ("vm.memory.size", "vm.memory.util", "vm.memory.utilization")}
FAMILY_NAMES = {"cpu": ("le processeur", "du processeur"), "memory": ("la mémoire vive", "de la mémoire vive")}


def _monitored_host(supervision, name: str) -> dict:
    host = supervision.host(name)
    assert host is not None, f"{name} n'est pas un hôte de la supervision : ce serveur du parc n'est pas supervisé."
    assert host["status"] == HOST_MONITORED, f"La supervision de {name} est désactivée dans Zabbix."
    return host


def _machine_names(inventory, name: str) -> set[str]:
    names = {name, inventory.hosts[name].address}
    if inventory.domain:
        names.add(f"{name}.{inventory.domain.name}")
    return names


def _from_the_machine(item: dict, interfaces: dict[str, dict], machine: set[str]) -> bool:
    """The value comes from the machine's own agent: an active check (the agent of that name sends it) or a
    passive one polled on an interface that is that machine."""
    if item["type"] == ZABBIX_AGENT_ACTIVE_ITEM:
        return True
    interface = interfaces.get(item.get("interfaceid", "0"))
    return bool(interface) and (interface["ip"] if interface["useip"] == "1" else interface["dns"]) in machine


def _enabled_keys(supervision, host: dict) -> list[str]:
    return [i["key_"] for i in supervision.call("item.get", hostids=host["hostid"], filter={"status": ENABLED},
                                                output=["key_"])]


def _on_filesystem(path: str):
    """A problem the file system's level raised: change() or timeleft() alone opens on any sudden jump, with or
    without the brief's threshold."""
    return lambda problem: (probes.reads_filesystem(list(problem.keys), path)
                            and compares_a_level(problem.expression))


def _on_a_job(problem) -> bool:
    return probes.reads_more_than_resources(list(problem.keys))


def _still_open(supervision, hosts: dict[str, dict], raised: list[tuple[str, probes.Problem]]) -> list[str]:
    """The raised problems still open, shown host by host (one query per host)."""
    open_now = {name: probes.open_problems(supervision, hosts[name]["hostid"]) for name in {n for n, _ in raised}}
    return [f"{name} : {p.shown()}" for name, p in raised if p.triggerid in open_now[name]]


def _assert_shown(raised: list[tuple[str, probes.Problem]]) -> None:
    masked = [f"{name} : {p.shown()}" for name, p in raised if p.suppressed]
    assert not masked, f"L'alerte s'est levée mais reste masquée : {' ; '.join(masked)}."


def _run_backup_until(server, service: str, wanted_success: bool) -> str:
    """Run the job as its timer would, a second time if the first run's result is not the one wanted (a run the
    timer had just begun joins the grader's start with what it read then); the last run's result."""
    for _attempt in range(2):
        result = probes.run_job(server, service, timeout=BACKUP_RUN_S)
        if (result == "success") == wanted_success:
            break
    return result


# --- CE.1 La supervision remonte l'état de santé du parc -------------------------------------------------------

@criterion("A2.1/CE.1", title="Chaque serveur du parc remonte son processeur et sa mémoire vive, avec une alerte "
           "active sur chacun", impact=0.8)
def test_each_server_sends_its_own_cpu_and_memory_with_a_trigger(supervision, inventory, scenario):
    now = time.time()
    for name in scenario.expect("parc_hosts"):
        host = _monitored_host(supervision, name)
        interfaces = {i["interfaceid"]: i for i in host["interfaces"] if i["type"] == AGENT_INTERFACE}
        items = supervision.call("item.get", hostids=host["hostid"], output=[
            "itemid", "key_", "type", "interfaceid", "status", "state", "lastclock", "master_itemid"])
        by_id = {i["itemid"]: i for i in items}
        triggers = supervision.call("trigger.get", hostids=host["hostid"], filter={"status": ENABLED},
                                    output=["triggerid", "description", "state", "expression"], expandExpression=True,
                                    selectItems=["itemid"])
        # nodata() or change() alone says the agent went silent or a value jumped, not that the resource is saturated.
        triggers = [t for t in triggers if compares_a_level(t["expression"])]
        for family, prefixes in FAMILIES.items():
            what, of_what = FAMILY_NAMES[family]
            # vm.memory.size[total] never moves: an alert on it watches nothing.
            measured = [i for i in items if i["key_"].startswith(prefixes) and not i["key_"].endswith("[total]")
                        and i["status"] == ENABLED]
            assert measured, f"Aucune sonde de la supervision ne mesure {what} de {name}."
            sources = [by_id.get(i["master_itemid"], i) if i["type"] == DEPENDENT_ITEM else i for i in measured]
            own = [i for i, source in zip(measured, sources)
                   if source["type"] in (ZABBIX_AGENT_ITEM, ZABBIX_AGENT_ACTIVE_ITEM)
                   and _from_the_machine(source, interfaces, _machine_names(inventory, name))]
            assert own, (f"Les sondes {of_what} de l'hôte {name} ({', '.join(i['key_'] for i in measured)}) ne "
                         f"viennent pas de l'agent de {name} : l'interface de l'hôte ne désigne pas ce serveur.")
            fresh = [i for i in own if i["state"] == SUPPORTED and now - int(i["lastclock"] or 0) < FRESH_DATA_S]
            assert fresh, (f"Les sondes {of_what} de {name} ({', '.join(i['key_'] for i in own)}) n'ont reçu "
                           f"aucune valeur depuis {FRESH_DATA_S // 60} min (non prises en charge ou pas encore "
                           "interrogées) : la supervision ne voit rien.")
            watched = {i["itemid"] for i in fresh}
            alerting = [t for t in triggers if t["state"] == SUPPORTED and watched & {i["itemid"] for i in t["items"]}]
            assert alerting, (f"Aucun déclencheur actif ne porte sur les sondes {of_what} de {name} : une "
                              "saturation ne lèverait aucune alerte.")


@criterion("A2.1/CE.1", title="Un espace de données rempli au-delà du seuil lève une alerte sur chaque serveur, "
           "qui se résout d'elle-même", impact=1.0, timeout=PROBE_TIMEOUT_S)
def test_a_data_filesystem_filled_past_the_threshold_raises_then_clears_an_alert(supervision, lab, scenario):
    paths, bound = scenario.expect("data_filesystems"), scenario.expect("alert_within_s")
    percent = scenario.expect("disk_threshold_percent") + FILL_MARGIN_PERCENT
    hosts = {name: _monitored_host(supervision, name) for name in scenario.expect("parc_hosts")}
    for name, host in hosts.items():  # without an item on it, no alert can rise: no need to wait and see
        assert probes.reads_filesystem(_enabled_keys(supervision, host), paths[name]), (
            f"Aucune sonde de la supervision ne mesure l'espace de {paths[name]} sur {name}.")
    machines = {name: lab.ssh(name) for name in hosts}
    for name, machine in machines.items():
        probes.remove_leftover_filler(machine, paths[name])
    before = {name: probes.settled(supervision, host["hostid"], _on_filesystem(paths[name]), bound)
              for name, host in hosts.items()}
    probing = {name: probes.probe_windows(machine) for name, machine in machines.items()}
    began = time.time()
    raised: dict[str, list[probes.Problem]] = {}
    fillers = {}
    try:
        for name, machine in machines.items():  # all at once: the wait is the slowest host's, not their sum
            fillers[name] = probes.fill(machine, paths[name], percent, scenario.expect("disk_threshold_percent"))

        def all_raised() -> bool:
            for name in hosts.keys() - raised.keys():
                found = probes.raised(before[name], probes.open_problems(supervision, hosts[name]["hostid"]),
                                      _on_filesystem(paths[name]))
                flapping = probes.recently_open(supervision, [p.triggerid for p in found], began - HISTORY_S, began,
                                                probing[name])
                found = [p for p in found if p.triggerid not in flapping]
                if found:
                    raised[name] = found
            return raised.keys() == hosts.keys()

        probes.wait_until(all_raised, bound)
    finally:
        for name, filler in fillers.items():
            probes.unfill(machines[name], filler)
        for name in fillers:
            probes.record_probe_window(machines[name], began, time.time() + 2 * bound)
    silent = [f"{name} ({paths[name]})" for name in hosts if name not in raised]
    assert not silent, (f"Le correcteur a rempli à {percent} % l'espace de données de {', '.join(silent)} : aucune "
                        f"alerte sur cet espace n'est apparue dans la supervision en {bound // 60} min.")
    pairs = [(name, p) for name, found in raised.items() for p in found]
    _assert_shown(pairs)
    probes.wait_until(lambda: not _still_open(supervision, hosts, pairs), bound)
    stuck = _still_open(supervision, hosts, pairs)
    assert not stuck, (f"L'espace a été libéré, mais ces alertes sont encore ouvertes {bound // 60} min après : "
                       f"{' ; '.join(stuck)} ; une alerte doit se résoudre d'elle-même au retour à la normale.")


@criterion("A2.1/CE.1", title="Une sauvegarde en échec lève une alerte, qui se résout à la sauvegarde réussie "
           "suivante", impact=1.0, timeout=PROBE_TIMEOUT_S)
def test_a_failed_backup_raises_then_clears_an_alert(supervision, lab, scenario):
    bound, service = scenario.expect("alert_within_s"), scenario.expect("backup_service")
    repository = scenario.expect("backup_repository_path")
    # The backup may be followed where it runs or where it lands: a problem on either host counts.
    names = [scenario.expect("backup_host"), scenario.expect("backup_server")]
    hosts = {names[0]: _monitored_host(supervision, names[0])}
    nas_host = supervision.host(names[1])  # the NAS's own supervision is the disk probe's business
    if nas_host is not None and nas_host["status"] == HOST_MONITORED:
        hosts[names[1]] = nas_host
    assert any(probes.reads_more_than_resources([key]) for host in hosts.values()
               for key in _enabled_keys(supervision, host)), (
        f"Aucune sonde de la supervision ne suit la sauvegarde : {' et '.join(hosts)} "
        f"{'n’ont' if len(hosts) > 1 else 'n’a'} que des mesures de ressources (processeur, mémoire, disques, réseau).")
    server, nas = lab.ssh(names[0]), lab.ssh(names[1])
    probes.undo_leftover_closing(nas)
    if probes.run_job(server, service, timeout=BACKUP_RUN_S) != "success":  # the probe needs a working backup
        raise probes.ProbeFailed(f"{names[0]} : la sauvegarde échoue déjà avant la sonde : le correcteur ne peut pas "
                                 "observer une alerte provoquée par un échec.")
    before = {name: probes.settled(supervision, host["hostid"], _on_a_job, bound) for name, host in hosts.items()}
    probing = {names[0]: probes.probe_windows(server), names[1]: probes.probe_windows(nas)}
    began = time.time()
    raised: list[tuple[str, probes.Problem]] = []
    mode = probes.close_repository(nas, repository)
    try:
        if _run_backup_until(server, service, wanted_success=False) == "success":
            raise probes.ProbeFailed(f"{names[0]} : la sauvegarde a réussi alors que le correcteur avait fermé son "
                                     f"dépôt {repository} sur {names[1]} : elle n'écrit plus dans ce dépôt, la sonde "
                                     "ne peut pas la faire échouer.")

        def any_raised() -> bool:
            for name, host in hosts.items():
                found = probes.raised(before[name], probes.open_problems(supervision, host["hostid"]), _on_a_job)
                flapping = probes.recently_open(supervision, [p.triggerid for p in found], began - HISTORY_S, began,
                                                probing[name])
                raised.extend((name, p) for p in found if p.triggerid not in flapping)
            return bool(raised)

        probes.wait_until(any_raised, bound)
    finally:  # whatever the verdict, the backup works again when the grader leaves
        probes.reopen_repository(nas, repository, mode)
        for machine in (server, nas):
            probes.record_probe_window(machine, began, time.time() + 2 * bound)
        good_run = _run_backup_until(server, service, wanted_success=True)
    if good_run != "success":
        raise probes.ProbeFailed(f"{names[0]} : la sauvegarde ne réussit pas de nouveau après la sonde "
                                 f"(« {good_run} ») : le correcteur ne peut pas observer le retour à la normale.")
    assert raised, (f"Le correcteur a fait échouer la sauvegarde de {names[0]} (dépôt fermé sur {names[1]}) : "
                    f"aucune alerte n'est apparue dans la supervision en {bound // 60} min.")
    _assert_shown(raised)
    probes.wait_until(lambda: not _still_open(supervision, hosts, raised), bound)
    stuck = _still_open(supervision, hosts, raised)
    assert not stuck, (f"Une sauvegarde a de nouveau réussi, mais ces alertes sont encore ouvertes {bound // 60} min "
                       f"après : {' ; '.join(stuck)} ; une alerte doit se résoudre d'elle-même au retour à la normale.")

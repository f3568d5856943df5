"""A2.1 — Gestion de l'inventaire (C2.1.3): GLPI holds every machine of the parc, as itself, with its real
hardware and software, freshly inventoried, and nothing that no longer exists.

A record is judged against the machine: the grader reads GLPI through its API and, over SSH, what each machine
really is (its identity as an inventory agent reports it, its OS, memory, root file system, installed packages).
A computer typed in by hand under the right name carries none of those facts and does not pass. Machines, the
inventory's maximum age and the renewal horizon come from the scenario's `expected:`."""
import datetime as dt

import pytest

from labgrader.remote import parc_inventory as inv

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def glpi(lab, role_host):
    """GLPI's REST API."""
    return lab.glpi(role_host("glpi"))


@pytest.fixture(scope="module")
def computers(glpi) -> list[dict]:
    """Every computer GLPI lists, the trash and the templates aside (GLPI's API returns templates, its lists do not)."""
    return [c for c in glpi.items("Computer", is_deleted=False) if not int(c.get("is_template") or 0)]


@pytest.fixture(scope="module")
def parc(lab, scenario, inventory, computers, glpi):
    """Each machine of the parc: its facts over SSH, and the GLPI records under its name."""
    domain = inventory.domain.name if inventory.domain else None
    found = {}
    for name in scenario.expect("parc_machines"):
        named = [c for c in computers if inv.same_name(str(c.get("name") or ""), name, domain)]
        found[name] = (inv.machine_facts(lab.ssh(name)), [inv.computer_record(glpi, c["id"]) for c in named])
    return found


@pytest.fixture(scope="module")
def seeded_serials(scenario) -> dict[str, str]:
    """Serial → machine, as the former inventory (the scenario's seed) recorded them."""
    seed = scenario.seed.glpi.computers if scenario.seed.glpi else ()
    return {c.serial.lower(): c.name for c in seed if c.serial}


def _judged(parc: dict, problems: list[str], *, duplicates_fail: bool = False):
    """(name, facts, record) of each machine that has a record to judge; why not (absent, a duplicate) goes to
    `problems`. Unless `duplicates_fail`, of duplicates the one with the machine's identity is judged: the
    duplicate itself is the first check's business."""
    for name, (facts, records) in parc.items():
        record, problem = _the_record(name, records, None if duplicates_fail else facts)
        if record is None:
            problems.append(problem)
        else:
            yield name, facts, record


def _the_record(name: str, records: list[inv.ComputerRecord], facts: inv.MachineFacts | None
                ) -> tuple[inv.ComputerRecord | None, str]:
    if not records:
        return None, f"{name} ne figure pas dans GLPI : aucun ordinateur de ce nom."
    if len(records) > 1:
        own = [r for r in records if facts and inv.identifies(r, facts)]
        if len(own) == 1:
            return own[0], ""
        return None, (f"{name} figure {len(records)} fois dans GLPI (fiches {', '.join(str(r.id) for r in records)}) : "
                      "un doublon fausse l'inventaire.")
    return records[0], ""


def _borrowed_serial(name: str, record: inv.ComputerRecord, facts: inv.MachineFacts, computers: list[dict],
                     seeded: dict[str, str]) -> str:
    """Whose serial the record carries, when it is not the machine's own: another record's (a clone), or a
    machine the former inventory knew under another name (a scrapped machine's record reused)."""
    serial = record.serial.strip().lower()
    if not serial or serial in facts.identities:
        return ""
    if seeded.get(serial, name) != name:
        return f"celui de {seeded[serial]} dans l'ancien inventaire"
    sharing = [f"fiche {c['id']} ({c.get('name')})" for c in computers
               if c["id"] != record.id and str(c.get("serial") or "").strip().lower() == serial]
    return f"celui de la {', '.join(sharing)}" if sharing else ""


@criterion("A2.1/CE.6", title="Chaque poste du parc figure une seule fois dans GLPI, inventorié par son agent "
           "depuis moins de 24 heures, sous son identité", impact=1.0)
def test_each_machine_is_in_glpi_once_as_itself_recently_inventoried(parc, lab, role_host, scenario, computers,
                                                                       seeded_serials):
    max_age = scenario.expect("inventory_max_age_h")
    glpi_clock = dt.datetime.strptime(lab.ssh(role_host("glpi")).check_output("/usr/bin/date '+%F %T'").strip(),
                                      "%Y-%m-%d %H:%M:%S")
    problems = []
    for name, facts, record in _judged(parc, problems, duplicates_fail=True):
        age = inv.age_hours(record.last_inventory, glpi_clock)
        if not inv.identifies(record, facts):
            problems.append(f"{name} : la fiche GLPI {record.id} ne porte ni l'UUID ni le numéro de série de la "
                            f"machine (UUID « {record.uuid or 'vide'} », série « {record.serial or 'vide'} ») : "
                            + ("elle n'a pas été alimentée par l'inventaire de ce poste." if age is None else
                               "elle a été alimentée par l'inventaire d'une autre machine, ou l'identité du poste "
                               "(nom d'hôte, machine-id) a changé depuis : relancez son agent."))
            continue
        borrowed = _borrowed_serial(name, record, facts, computers, seeded_serials)
        if borrowed:
            problems.append(f"{name} : la fiche GLPI {record.id} porte un numéro de série qui n'est pas celui de la "
                            f"machine, mais {borrowed} (« {record.serial} ») : une fiche réutilisée ou clonée mêle "
                            "deux machines.")
        elif age is None:
            problems.append(f"{name} : la fiche GLPI {record.id} n'a jamais reçu d'inventaire.")
        elif age < -1:
            problems.append(f"{name} : la date du dernier inventaire ({record.last_inventory}) est dans le futur "
                            "de l'horloge de GLPI.")
        elif age > max_age:
            problems.append(f"{name} : le dernier inventaire date de {age:.0f} h ({record.last_inventory}), "
                            f"plus de {max_age} h.")
    assert not problems, " ".join(problems)


@criterion("A2.1/CE.6", title="La fiche GLPI de chaque poste décrit son matériel réel : système, processeur, "
           "mémoire, disques", impact=0.8)
def test_each_record_describes_the_real_hardware(parc, lab):
    problems = []
    for name, facts, record in _judged(parc, problems):
        if not inv.os_matches(record, facts):
            problems.append(f"{name} : système « {', '.join(record.operating_systems) or 'aucun'} » dans GLPI, "
                            f"{facts.os_name} {facts.os_version} sur la machine.")
        if not record.processors:
            problems.append(f"{name} : aucun processeur dans GLPI.")
        if not facts.memory_modules_readable:  # a container: no module an agent could report (parc_inventory)
            lab.recorder.record(name, "mémoire", "non vérifiée : la machine n'expose pas de tables DMI, aucun agent "
                                f"ne peut en inventorier les barrettes ({facts.memory_mib} Mio visibles)")
        elif not inv.memory_matches(record.memory_mib, facts.memory_mib):
            problems.append(f"{name} : {record.memory_mib} Mio de mémoire dans GLPI, {facts.memory_mib} Mio sur la "
                            "machine.")
        if not inv.close_enough(record.disks.get("/", 0), facts.root_mib):
            problems.append(f"{name} : système de fichiers racine « / » de {record.disks.get('/', 0)} Mio dans GLPI, "
                            f"{facts.root_mib} Mio sur la machine.")
    assert not problems, " ".join(problems)


@criterion("A2.1/CE.6", title="La liste des logiciels de chaque poste dans GLPI est celle réellement installée",
           impact=0.8)
def test_each_record_lists_the_software_really_installed(parc):
    problems = []
    for name, facts, record in _judged(parc, problems):
        missing, extra, other_version = inv.software_gaps(record, facts)
        if missing or extra or other_version:
            parts = [f"{len(facts.packages)} paquets installés, {len(record.software)} logiciels dans GLPI"]
            parts += [f"absents de GLPI : {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}"] if missing else []
            parts += [f"plus installés : {', '.join(extra[:8])}{' …' if len(extra) > 8 else ''}"] if extra else []
            parts += [f"version changée depuis l'inventaire : {', '.join(other_version[:8])}"] if other_version else []
            problems.append(f"{name} : " + " ; ".join(parts) + ".")
    assert not problems, " ".join(problems)


@criterion("A2.1/CE.6", title="L'inventaire ne contient plus de machine qui ne fait pas partie du parc", impact=0.7)
def test_no_computer_outside_the_parc_is_left(computers, inventory, scenario, seeded_serials):
    domain = inventory.domain.name if inventory.domain else None
    parc = set(scenario.expect("parc_machines")) | set(inventory.hosts)
    phantoms = []
    for c in computers:
        name = str(c.get("name") or "")
        former = seeded_serials.get(str(c.get("serial") or "").strip().lower())
        if not any(inv.same_name(name, host, domain) for host in parc):
            phantoms.append(f"{name or '(sans nom)'} (fiche {c.get('id')})")
        elif former and not any(inv.same_name(former, host, domain) for host in parc):
            phantoms.append(f"{former}, renommé {name} (fiche {c.get('id')}, série {c.get('serial')})")
    assert not phantoms, (f"GLPI contient encore des machines qui ne font pas partie du parc : {', '.join(phantoms)}. "
                          "Une machine mise au rebut doit être retirée de l'inventaire (corbeille).")


@criterion("A2.1/CE.7", title="Élément de preuve : les dates d'achat et de garantie déjà connues sont conservées, "
           "et les postes à renouveler d'ici un an", supporting=True)
def test_known_purchase_and_warranty_dates_are_kept(parc, scenario, lab):
    horizon, today = scenario.expect("renewal_age_years"), dt.date.today()
    known = {c.name: c for c in (scenario.seed.glpi.computers if scenario.seed.glpi else ())}
    lines, lost = [], []
    for name, (_facts, records) in parc.items():
        for record in records:
            buy, end = record.infocom.get("buy_date"), inv.warranty_end(record.infocom)
            age = (today - dt.date.fromisoformat(str(buy)[:10])).days / 365.25 if buy else None
            due = (age is not None and age + 1 >= horizon) or (end is not None and end <= today + dt.timedelta(days=365))
            lines.append(f"{name} (fiche {record.id}) : achat {buy or 'inconnu'}, fin de garantie {end or 'inconnue'}"
                         f"{' — plus de ' + str(horizon) + ' ans ou hors garantie d’ici un an' if due else ''}")
        seeded = known.get(name)
        if seeded and not any(inv.keeps_purchase(r.infocom, seeded.buy_date, seeded.warranty_date,
                                                 seeded.warranty_months) for r in records):
            lost.append(f"{name} (achat le {seeded.buy_date}, garantie de {seeded.warranty_months} mois à partir du "
                        f"{seeded.warranty_date})")
    lab.recorder.record("glpi", "informations financières des postes", "\n".join(lines) or "aucune")
    assert not lost, (f"Les informations d'achat et de garantie connues ont été perdues pour : {', '.join(lost)} ; "
                      "elles servent à anticiper le renouvellement.")

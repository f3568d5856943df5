"""A1.3 — Automatisation des tâches de configuration : the GPO the brief asks for, and the account script.

Each fact is judged from where it lives: the GPO's object and link in the directory (LDAPS), what it holds in
SYSVOL (SMB from the grader), what the workstation enforces from it (sssd's cache and a real SSH logon); the
script through the grader's own ShellCheck on a copy, and by running it on the grader's own list of accounts
(taken from the scenario, never the candidate's file), twice, reading the directory after each run. The
candidate's list is put back and the accounts the runs created are deleted: the lab is left as found.

Paths, names and users come from the scenario's `expected:` values."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

import pytest

from labgrader.remote import gpo as gpolib
from labgrader.remote.analysis import shellcheck
from labgrader.remote.base import RemoteError
from labgrader.remote.ldap import escape, ou_dn

criterion = pytest.mark.criterion
GPO_LINK_DISABLED = 0x1       # gPLink options: the link is disabled
GPO_COMPUTER_DISABLED = 0x2   # GPO flags: its computer configuration is disabled
ACCOUNTDISABLE = 0x2
SCRIPT_TIMEOUT_S = 180
SAMBA_TOOL = "/usr/bin/samba-tool"


def _same_name(a: str | None, b: str) -> bool:
    return (a or "").strip().lower() == b.strip().lower()


@pytest.fixture(scope="module")
def gpo(directory, scenario):
    """The GPO named in the brief (the one linked to the brief's OU when several carry that name), or None."""
    named = [g for g in directory.gpos() if _same_name(g.first("displayName"), scenario.expect("gpo_name"))]
    if len(named) > 1:
        linked = {guid for guid, _ in directory.gpo_links(ou_dn(scenario.expect("gpo_ou"), directory.base_dn))}
        named.sort(key=lambda g: g.first("cn", "").upper() not in linked)
    return named[0] if named else None


@dataclass(frozen=True)
class Group:
    name: str
    sid: str  # '' when the group does not exist


@pytest.fixture(scope="module")
def denied_group(directory, scenario) -> Group:
    name = scenario.expect("denied_group")
    found = directory.search(f"(&(objectClass=group)(sAMAccountName={escape(name)}))", ["objectSid"])
    return Group(name, gpolib.sid_text(found[0].first("objectSid")) if found else "")


@pytest.fixture(scope="module")
def sysvol(gpo, lab, role_host, inventory):
    """The GPO's GptTmpl.inf and GPT.INI as read over SMB from SYSVOL by the grader (None without the GPO)."""
    if gpo is None:
        return None
    dc = role_host("samba-dc")
    return gpolib.read_sysvol(lab.smb(), inventory.hosts[dc].address, gpo.first("cn"), gpo.first("gPCFileSysPath"),
                              user="Administrator", password=lab.secret("domain_admin_password"),
                              domain=lab.domain().netbios)


def _no_gpo(scenario) -> str:
    return (f"Aucune GPO nommée « {scenario.expect('gpo_name')} » dans l'annuaire : le brief demande cette "
            f"stratégie de groupe, liée à l'OU {scenario.expect('gpo_ou')}.")


# --- CE.1 Les GPO demandées ont été créées et fonctionnent -------------------------------------------------------

@criterion("A1.3/CE.1", title="La GPO demandée existe et sa configuration ordinateur est active", impact=0.7)
def test_the_requested_gpo_exists_and_is_enabled(gpo, scenario):
    assert gpo is not None, _no_gpo(scenario)
    flags = int(gpo.first("flags", 0) or 0)
    assert not flags & GPO_COMPUTER_DISABLED, (
        f"La GPO « {scenario.expect('gpo_name')} » existe mais sa configuration ordinateur est désactivée "
        f"(flags = {flags}) : le brief la demande activée.")


@criterion("A1.3/CE.1", title="La GPO est liée à l'OU demandée, lien actif", impact=0.7)
def test_the_gpo_is_linked_to_the_ou_of_the_brief(gpo, directory, scenario):
    assert gpo is not None, _no_gpo(scenario)
    ou = scenario.expect("gpo_ou")
    guid = gpo.first("cn").upper()
    links = dict(directory.gpo_links(ou_dn(ou, directory.base_dn)))
    if guid not in links:
        elsewhere = [e.dn for e in directory.search(f"(gPLink=*{escape(guid)}*)", ["gPLink"])]
        assert False, (f"La GPO « {scenario.expect('gpo_name')} » n'est pas liée à l'OU {ou} (liée à : "
                       f"{', '.join(elsewhere) or 'aucun conteneur'}) : le brief demande un lien sur {ou}, "
                       f"l'OU du poste.")
    assert not links[guid] & GPO_LINK_DISABLED, (
        f"La GPO est liée à l'OU {ou} mais ce lien est désactivé : le brief demande un lien actif.")


@criterion("A1.3/CE.1", title="La GPO contient dans SYSVOL le droit demandé pour le groupe, publié aux postes",
           impact=1.0)
def test_the_gpo_holds_the_requested_right_in_sysvol(gpo, sysvol, denied_group, scenario, lab):
    assert gpo is not None, _no_gpo(scenario)
    right, group = scenario.expect("gpo_right"), denied_group.name
    where = f"{sysvol.share}\\{sysvol.path}\\{gpolib.SECEDIT_FILE}"
    assert sysvol.template_text is not None, (
        f"La GPO n'a pas de paramètres de sécurité dans SYSVOL ({where} absent ou illisible) : le brief demande "
        f"qu'elle contienne le droit {right} pour {group}.")
    entries = gpolib.privilege(sysvol.template, right)
    domain = lab.domain()
    named = [e for e in entries if denied_group.sid and gpolib.names_group(
        e, sid=denied_group.sid, name=group, netbios=domain.netbios, domain=domain.name)]
    if not entries:
        others = ", ".join(gpolib.written_keys(sysvol.template_text, "Privilege Rights")) or "aucun"
        assert False, (f"Le fichier de sécurité de la GPO dans SYSVOL ne contient pas le droit {right} (droits "
                       f"présents : {others}) : le brief demande d'y interdire l'ouverture de session à distance "
                       f"à {group}.")
    assert named, (f"Dans SYSVOL, la GPO attribue {right} à {', '.join(entries)}, pas au groupe {group} "
                   f"({denied_group.sid or 'groupe introuvable'}) : le brief demande ce droit pour les membres de "
                   f"{group}.")
    extensions = gpo.first("gPCMachineExtensionNames", "")
    assert gpolib.has_security_extension(extensions), (
        f"La GPO ne déclare pas l'extension des paramètres de sécurité {gpolib.SECURITY_CSE} dans "
        f"gPCMachineExtensionNames ({extensions or 'vide'}) : les postes ignoreront son GptTmpl.inf, alors que le "
        f"brief demande qu'elle s'applique.")
    in_ldap, in_ini = gpolib.machine_version(gpo.first("versionNumber", 0)), sysvol.version
    assert in_ldap > 0 and in_ini is not None and gpolib.machine_version(in_ini) > 0, (
        f"La version de la configuration ordinateur de la GPO est nulle (annuaire : {in_ldap}, GPT.INI : "
        f"{in_ini if in_ini is not None else 'absent'}) : les postes ne téléchargeront pas ses paramètres, alors "
        f"que le brief demande qu'elle s'applique.")


@criterion("A1.3/CE.1", title="Le poste applique la GPO : l'utilisateur visé est refusé par elle, les autres entrent",
           impact=1.0)
def test_the_gpo_takes_effect_on_the_joined_workstation(lab, scenario, inventory, gpo, denied_group, sysvol):
    workstation, domain = scenario.expect("workstation"), inventory.domain.name
    denied, allowed, right = scenario.expect("denied_user"), scenario.expect("allowed_user"), scenario.expect("gpo_right")
    host = lab.ssh(workstation)
    since = host.check_output("date +%s").strip()
    control = lab.logon(workstation, f"{allowed}@{domain}", lab.secret(f"user_password:{allowed}"))
    assert control.accepted, (
        f"{allowed} ne peut pas non plus ouvrir de session sur {workstation} ({control.reason}) : le brief demande "
        f"que les autres utilisateurs entrent toujours (une GPO que le poste ne peut pas lire bloque toutes les "
        f"sessions du domaine).")
    attempt = lab.logon(workstation, f"{denied}@{domain}", lab.secret(f"user_password:{denied}"))
    by_name = sysvol is not None and any(not e.startswith("*") and not e.upper().startswith("S-1-")
                                         for e in gpolib.privilege(sysvol.template, right))
    assert not attempt.accepted, (
        f"{denied} (membre de {denied_group.name}) ouvre toujours une session SSH sur {workstation} : le brief "
        f"demande qu'il soit refusé par la GPO"
        + (" (la GPO désigne le groupe par son nom : sssd n'applique que des SID, « *S-1-5-… »)." if by_name else "."))
    journal = host.check_output("journalctl --since=@%s --no-pager -o short", since)
    about = [line for line in journal.splitlines() if f"{denied}@" in line or f"user {denied}" in line
             or "GPO-based" in line]
    assert not any("would have been denied GPO-based" in line for line in about), (
        f"sssd sur {workstation} est en mode permissif (ad_gpo_access_control) : il journalise que la GPO "
        f"refuserait {denied} sans l'appliquer ; le brief demande qu'elle s'applique.")
    by_sssd = [line for line in about if re.search(r"pam_sss\([^:)]*:account\).*Access denied", line)]
    shown = " | ".join(line.split(": ", 1)[-1] for line in about[-3:]) or "rien dans le journal"
    assert by_sssd, (
        f"{denied} est refusé sur {workstation}, mais pas par le contrôle d'accès de sssd qui applique les GPO "
        f"(journal : {shown}) : une règle locale n'est pas la GPO demandée par le brief.")
    assert gpo is not None, (f"{denied} est refusé par sssd, mais aucune GPO « {scenario.expect('gpo_name')} » "
                             f"n'existe : le refus ne vient pas de la GPO demandée par le brief.")
    guid = gpo.first("cn").upper()
    policy = gpolib.read_client_policy(host, (guid,))
    applied = policy.applied_right(right)
    assert denied_group.sid and any(gpolib.names_group_by_sid(e, denied_group.sid) for e in applied), (
        f"sssd sur {workstation} n'applique aucune GPO qui refuse {right} à {denied_group.name} (droit appliqué à : "
        f"{', '.join(applied) or 'personne'}) : le refus de {denied} ne vient pas de la GPO demandée par le brief.")
    cached = policy.cached_files.get(guid)
    assert guid in policy.downloaded and cached is not None, (
        f"Le poste {workstation} n'a pas téléchargé la GPO « {scenario.expect('gpo_name')} » ({guid}) dans le cache "
        f"de sssd : le droit qu'il applique vient d'une autre GPO, pas de celle du brief.")
    assert any(gpolib.names_group_by_sid(e, denied_group.sid)
               for e in gpolib.privilege(gpolib.parse_inf(cached), right)), (
        f"La copie de la GPO {guid} dans le cache de sssd sur {workstation} ne refuse pas {right} à "
        f"{denied_group.name} : le droit appliqué vient d'une autre GPO que celle du brief.")


# --- CE.2 Les scripts respectent les bonnes pratiques ------------------------------------------------------------

@criterion("A1.3/CE.2", title="Le script passe l'analyse ShellCheck du correcteur sans remarque", impact=1.0)
def test_the_automation_script_passes_shellcheck(lab, scenario):
    script, machine = scenario.expect("automation_script"), scenario.expect("automation_host")
    host = lab.ssh(machine)
    assert host.run("test -f %s", script).ok, (
        f"Le script {script} n'existe pas sur {machine} : le brief demande ce script, sans remarque de ShellCheck.")
    report = shellcheck(host.check_output("cat -- %s", script), shown_as=script, host=machine, recorder=lab.recorder)
    directives = (f" Les directives « # shellcheck » du script ne comptent pas (neutralisées : "
                  f"{'; '.join(f'ligne {n} « {d} »' for n, d in report.directives)})." if report.directives else "")
    shown = "; ".join(f.french() for f in report.findings[:8]) + (" …" if len(report.findings) > 8 else "")
    assert not report.findings, (
        f"ShellCheck signale {len(report.findings)} remarque(s) dans {script} : {shown}. Le brief demande que "
        f"ShellCheck ne signale rien.{directives}")


# --- CE.4 L'automatisation apporte un gain (fiabilité, reproductibilité) -------------------------------------------

@dataclass(frozen=True)
class Row:
    text: str
    account: str
    given: str
    surname: str
    ou: str
    group: str


def _row(text: str) -> Row:
    fields = text.split(";")
    if len(fields) != 5:
        raise RemoteError(f"ligne d'essai du scénario mal formée : « {text} » (5 champs séparés par « ; »)")
    return Row(text, *(f.strip() for f in fields))


STATE_ATTRIBUTES = ["sAMAccountName", "memberOf", "pwdLastSet", "uSNChanged", "userAccountControl", "givenName",
                    "sn", "objectGUID"]
STATE_WORDS = {"dn": "emplacement (DN)", "groups": "groupes", "pwdLastSet": "mot de passe (pwdLastSet)",
               "usn": "objet modifié (uSNChanged)", "uac": "état du compte", "given": "prénom", "sn": "nom",
               "guid": "objet recréé (objectGUID)"}


def _state(entry) -> dict | None:
    if entry is None:
        return None
    return {"dn": entry.dn.lower(), "groups": sorted(g.lower() for g in entry.attributes.get("memberOf", [])),
            "pwdLastSet": str(entry.first("pwdLastSet", "")), "usn": str(entry.first("uSNChanged", "")),
            "uac": int(entry.first("userAccountControl", 0) or 0), "given": str(entry.first("givenName", "")),
            "sn": str(entry.first("sn", "")), "guid": entry.first("objectGUID")}


def _snapshot(directory, accounts: list[str]) -> dict[str, dict | None]:
    wanted = "".join(f"(sAMAccountName={escape(a)})" for a in accounts)
    found = {str(e.first("sAMAccountName", "")).lower(): e for e in
             directory.search(f"(&(objectCategory=person)(objectClass=user)(|{wanted}))", STATE_ATTRIBUTES)}
    return {a: _state(found.get(a.lower())) for a in accounts}


def _people(directory) -> dict[str, str]:
    """Every user account of the domain: DN (lower case) -> sAMAccountName."""
    return {e.dn.lower(): str(e.first("sAMAccountName", "")) for e in
            directory.search("(&(objectCategory=person)(objectClass=user))", ["sAMAccountName"])}


def _changes(before: dict | None, after: dict | None) -> str:
    if before is None or after is None:
        return "" if before is after else "supprimé" if after is None else "créé"
    return ", ".join(STATE_WORDS[k] for k in before if before[k] != after[k])


# Save the candidate's list and put the grader's in its place; say where the copy is and the file's digest.
SAVE_LIST = """set -eu
if [ -e "$LISTE" ]; then
  copie=$(mktemp /root/labgrader-liste-candidat.XXXXXX)
  cp -p -- "$LISTE" "$copie"
  echo "copie=$copie"
  echo "empreinte=$(sha256sum < "$LISTE" | cut -d' ' -f1)"
else
  echo "copie="
fi
printf '%s' "$CONTENU" > "$LISTE"
"""
# Put the candidate's list back as it was (or remove the grader's when there was none), and prove it.
RESTORE_LIST = """set -eu
if [ -n "$COPIE" ]; then
  cp -p -- "$COPIE" "$LISTE"
  test "$(sha256sum < "$LISTE" | cut -d' ' -f1)" = "$EMPREINTE"
  rm -f -- "$COPIE"
else
  rm -f -- "$LISTE"
fi
"""


@dataclass(frozen=True)
class Replay:
    script: str
    exists: bool
    new: tuple[Row, ...] = ()
    existing: Row | None = None
    exits: tuple[int, ...] = ()
    outputs: tuple[str, ...] = ()
    states: tuple[dict, ...] = ()  # before the first run, after it, after the second


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-2:])[:300] or "aucun message"


@pytest.fixture(scope="module")
def replay(lab, directory, scenario) -> Replay:
    """The script of the brief run twice by the grader on the grader's list (the scenario's rows: new accounts
    and one that exists), with the directory's state of each listed account before and after each run."""
    machine, script, listing = (scenario.expect(k) for k in ("automation_host", "automation_script",
                                                               "automation_list"))
    host = lab.ssh(machine)
    if not host.run("test -f %s", script).ok:
        return Replay(script, False)
    new = tuple(_row(text) for text in scenario.expect("automation_test_rows"))
    existing = _row(scenario.expect("automation_existing_row"))
    accounts = [row.account for row in (*new, existing)]
    before = _snapshot(directory, accounts)
    leftovers = [row.account for row in new if before[row.account] is not None]
    if leftovers:
        raise RemoteError(f"les comptes d'essai du correcteur {', '.join(leftovers)} existent déjà dans l'annuaire "
                          f"(reste d'une correction interrompue ?) : supprimez-les avant de corriger ce point")
    if before[existing.account] is None:
        raise RemoteError(f"le compte {existing.account}, qui sert à vérifier qu'un compte existant est laissé "
                          f"tel quel, est absent de l'annuaire")
    people = _people(directory)
    rows = [scenario.expect("automation_header"), new[0].text, existing.text, *(row.text for row in new[1:])]
    saved = host.run_script("liste d'essai du correcteur à la place de celle du candidat", SAVE_LIST,
                            env={"LISTE": listing, "CONTENU": "\n".join(rows) + "\n"})
    if not saved.ok:
        raise RemoteError(f"{machine} : la liste {listing} n'a pas pu être remplacée par celle du correcteur "
                          f"(code {saved.exit_status}) : {_tail(saved.stderr)}")
    found = dict(line.split("=", 1) for line in saved.stdout.splitlines() if "=" in line)
    exits, outputs, states = [], [], [before]
    try:
        for _ in range(2):
            result = host.run("cd %s && %s", posixpath.dirname(script), script, timeout=SCRIPT_TIMEOUT_S)
            exits.append(result.exit_status)
            outputs.append(_tail(result.stderr or result.stdout))
            states.append(_snapshot(directory, accounts))
    finally:
        # Only what the runs added: an account of the same name as one that existed is the candidate's.
        known = {sam.lower() for sam in people.values()}
        created = [sam for dn, sam in _people(directory).items() if dn not in people and sam.lower() not in known]
        for sam in created:
            host.check_output(f"{SAMBA_TOOL} user delete %s", sam)
        restored = host.run_script("liste du candidat remise en place", RESTORE_LIST,
                                   env={"LISTE": listing, "COPIE": found.get("copie", ""),
                                        "EMPREINTE": found.get("empreinte", "")})
        if not restored.ok:
            raise RemoteError(f"{machine} : la liste du candidat {listing} n'a pas pu être remise en place "
                              f"(copie : {found.get('copie') or 'aucune'}) : {_tail(restored.stderr)}")
    return Replay(script, True, new, existing, tuple(exits), tuple(outputs), tuple(states))


def _no_script(replay: Replay) -> str:
    return f"Le script {replay.script} n'existe pas : le brief demande ce script de création des comptes."


def _rows(replay: Replay) -> str:
    return ", ".join(f"{r.account} ({r.ou}, {r.group})" for r in replay.new)


@criterion("A1.3/CE.4", title="Sur une autre liste, le script crée chaque compte dans son OU et son groupe",
           impact=1.0)
def test_the_script_creates_every_listed_account(replay, directory):
    assert replay.exists, _no_script(replay)
    problems = []
    for row in replay.new:
        found = replay.states[1][row.account]
        if found is None:
            problems.append(f"{row.account} n'a pas été créé")
            continue
        parent = re.split(r"(?<!\\),", found["dn"], maxsplit=1)[-1]
        if parent != ou_dn(row.ou, directory.base_dn).lower():
            problems.append(f"{row.account} est dans {parent}, pas dans {row.ou}")
        group = directory.group(row.group)
        if group is None or group.dn.lower() not in found["groups"]:
            problems.append(f"{row.account} n'est pas membre de {row.group}")
        if found["pwdLastSet"] != "0":
            problems.append(f"le mot de passe de {row.account} n'est pas à changer à la première connexion")
        if found["uac"] & ACCOUNTDISABLE:
            problems.append(f"{row.account} est désactivé")
        if (found["given"], found["sn"]) != (row.given, row.surname):
            problems.append(f"{row.account} s'appelle « {found['given']} {found['sn']} », pas "
                            f"« {row.given} {row.surname} »")
    assert not problems, (
        f"Lancé par le correcteur sur sa propre liste ({_rows(replay)}), le script (code de sortie "
        f"{replay.exits[0]} : {replay.outputs[0]}) : {' ; '.join(problems)}. Le brief demande chaque compte de la "
        f"liste créé dans son OU, membre de son groupe, avec un mot de passe à changer à la première connexion.")


@criterion("A1.3/CE.4", title="Relancé, le script se termine sans erreur et ne change rien, comptes existants compris",
           impact=1.0)
def test_running_the_script_twice_changes_nothing(replay):
    assert replay.exists, _no_script(replay)
    assert replay.exits[0] == 0, (
        f"Lancé par le correcteur sur sa liste ({_rows(replay)} et le compte existant {replay.existing.account}), "
        f"le script se termine en erreur (code {replay.exits[0]} : {replay.outputs[0]}) : le brief demande qu'il se "
        f"termine sans erreur.")
    assert replay.exits[1] == 0, (
        f"Relancé sur la même liste, le script se termine en erreur (code {replay.exits[1]} : {replay.outputs[1]}) : "
        f"le brief le demande rejouable.")
    existing = replay.existing.account
    touched = _changes(replay.states[0][existing], replay.states[1][existing]) or \
        _changes(replay.states[1][existing], replay.states[2][existing])
    assert not touched, (
        f"Le compte {existing}, qui existait déjà et figure dans la liste, a été modifié par le script ({touched}) : "
        f"le brief demande qu'un compte existant soit laissé tel quel.")
    changed = {row.account: _changes(replay.states[1][row.account], replay.states[2][row.account])
               for row in replay.new}
    changed = {account: what for account, what in changed.items() if what}
    assert not changed, (
        "La seconde exécution a modifié l'annuaire ("
        + "; ".join(f"{account} : {what}" for account, what in changed.items())
        + ") : le brief demande qu'une relance ne change rien.")

"""A1.3 — Automatisation des tâches de configuration : the GPO the brief asks for, and the account script.

Paths, names and users come from the scenario's `expected:` values."""
from dataclasses import dataclass

import pytest

from labgrader.remote.ldap import ou_dn

criterion = pytest.mark.criterion
GPO_LINK_DISABLED = 0x1       # gPLink options: the link is disabled
GPO_COMPUTER_DISABLED = 0x2   # GPO flags: its computer configuration is disabled


@pytest.fixture(scope="module")
def gpo(directory, scenario):
    """The GPO named in the brief, or None."""
    return next((g for g in directory.gpos() if g.first("displayName") == scenario.expect("gpo_name")), None)


@dataclass(frozen=True)
class TwoRuns:
    exits: tuple[int, int]
    states: tuple[dict, dict]
    wanted: dict[str, tuple[str, str]]  # account -> (OU path, group), from the list


@pytest.fixture(scope="module")
def two_runs(lab, directory, scenario):
    """The script of the brief run twice, with the directory's state of each listed account after each run."""
    host = lab.ssh(scenario.expect("automation_host"))
    rows = host.run(f"tail -n +2 {scenario.expect('automation_list')}").stdout.splitlines()
    wanted = {fields[0]: (fields[3], fields[4]) for fields in (row.split(";") for row in rows) if len(fields) >= 5}

    def state() -> dict:
        found = {}
        for account in wanted:
            entry = directory.user(account)
            found[account] = None if entry is None else (entry.dn.lower(), sorted(entry.attributes.get("memberOf", [])))
        return found

    exits, states = [], []
    for _ in range(2):
        exits.append(host.run(scenario.expect("automation_script")).exit_status)
        states.append(state())
    return TwoRuns(tuple(exits), tuple(states), wanted)


# --- CE.1 Les GPO demandées ont été créées et fonctionnent -------------------------------------------------------

@criterion("A1.3/CE.1", title="La GPO demandée existe et sa configuration ordinateur est active", impact=0.7)
def test_the_requested_gpo_exists_and_is_enabled(gpo, scenario):
    assert gpo is not None, f"no GPO named {scenario.expect('gpo_name')}"
    assert not int(gpo.first("flags", 0)) & GPO_COMPUTER_DISABLED, "the GPO's computer configuration is disabled"


@criterion("A1.3/CE.1", title="La GPO est liée à l'OU demandée, lien actif", impact=0.7)
def test_the_gpo_is_linked_to_the_ou_of_the_brief(gpo, directory, scenario):
    assert gpo is not None, f"no GPO named {scenario.expect('gpo_name')}"
    links = dict(directory.gpo_links(ou_dn(scenario.expect("gpo_ou"), directory.base_dn)))
    guid = gpo.first("cn").upper()
    assert guid in links, f"the GPO is not linked to {scenario.expect('gpo_ou')}"
    assert not links[guid] & GPO_LINK_DISABLED, "the link exists but is disabled"


@criterion("A1.3/CE.1", title="La GPO s'applique : l'utilisateur visé est refusé, les autres entrent", impact=1.0)
def test_the_gpo_takes_effect_on_the_joined_workstation(lab, scenario, inventory):
    workstation, domain = scenario.expect("workstation"), inventory.domain.name
    denied, allowed = scenario.expect("denied_user"), scenario.expect("allowed_user")
    control = lab.logon(workstation, f"{allowed}@{domain}", lab.secret(f"user_password:{allowed}"))
    assert control.accepted, f"{allowed} cannot log on either ({control.reason}): the workstation is not usable"
    attempt = lab.logon(workstation, f"{denied}@{domain}", lab.secret(f"user_password:{denied}"))
    assert not attempt.accepted, f"{denied} still logs on to {workstation}"
    # A refusal proves the policy only if sshd says the account phase (the GPO), not the password, refused it.
    journal = lab.ssh(workstation).run(f"journalctl -u ssh --since=-5min --no-pager | grep -F '{denied}@{domain}'")
    assert "Access denied" in journal.stdout or "account configuration" in journal.stdout, (
        "the logon was refused, but not by the access policy")


# --- CE.2 Les scripts respectent les bonnes pratiques ------------------------------------------------------------

@criterion("A1.3/CE.2", title="Le script d'automatisation passe ShellCheck sans remarque", impact=1.0)
def test_the_automation_script_passes_shellcheck(lab, scenario):
    script = scenario.expect("automation_script")
    result = lab.ssh(scenario.expect("automation_host")).run(f"test -f {script} && shellcheck --format=gcc {script}")
    assert result.ok, f"shellcheck on {script}: {result.stdout.strip()[-600:] or 'the script does not exist'}"


# --- CE.4 L'automatisation apporte un gain (fiabilité, reproductibilité) -------------------------------------------

@criterion("A1.3/CE.4", title="Le script crée chaque compte de la liste dans son OU et son groupe", impact=1.0)
def test_the_script_creates_every_listed_account(two_runs, directory):
    for account, (ou, group) in two_runs.wanted.items():
        found = two_runs.states[0][account]
        assert found is not None, f"{account} was not created"
        assert found[0].endswith(ou_dn(ou, directory.base_dn).lower()), f"{account} is not in {ou}"
        assert any(f"cn={group.lower()}," in g.lower() for g in found[1]), f"{account} is not in {group}"


@criterion("A1.3/CE.4", title="Relancé, le script ne change rien et se termine sans erreur", impact=1.0)
def test_running_the_script_twice_gives_the_same_directory_without_error(two_runs):
    assert two_runs.exits == (0, 0), f"exit statuses of two runs: {two_runs.exits}"
    assert two_runs.states[0] == two_runs.states[1], "the second run changed the directory"

"""A1.1 — Intégration d'un nouveau poste : what the lab shows of the candidate's work on the workstation.

Each check answers one question about the lab and names its criterion; the grid is the report's job."""
import pytest

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def workstation(scenario):
    return scenario.expect("workstation")


@pytest.fixture(scope="module")
def directory(lab, role_host):
    return lab.directory(role_host("samba-dc"))


@criterion("A1.1/CE.1", title="Le poste répond sur le réseau (SSH)", impact=1.0)
def test_the_workstation_answers_over_ssh(lab, workstation):
    assert lab.ssh(workstation).run("true").ok


@criterion("A1.1/CE.4", title="Le contrôleur de domaine répond en LDAPS", impact=0.3)
def test_the_domain_controller_answers_ldaps(directory, inventory):
    assert directory.search("(objectClass=domain)", ["dc"], base=inventory.domain.base_dn)


@criterion("A1.1/CE.4", title="L'utilisateur désigné par le brief existe dans le domaine", impact=0.3)
def test_the_user_of_the_brief_exists_in_the_domain(directory, scenario):
    user = scenario.expect("logon_user")
    assert directory.user(user) is not None, f"{user} is not in the directory"


@criterion("A1.1/CE.3", title="Le compte ordinateur du poste est dans l'OU demandée", impact=0.7)
def test_the_workstation_account_is_in_the_ou_of_the_brief(directory, scenario, workstation):
    computer = directory.computer(workstation)
    assert computer is not None, f"no computer account {workstation.upper()}$ in the domain"
    assert directory.in_ou(computer.dn, scenario.expect("workstation_ou")), (
        f"{computer.dn} is not in the OU {scenario.expect('workstation_ou')}")


@criterion("A1.1/CE.4", title="L'utilisateur ouvre une session sur le poste avec ses identifiants du domaine",
           impact=1.0)
def test_the_user_logs_on_to_the_workstation_with_domain_credentials(lab, scenario, inventory, workstation):
    user = scenario.expect("logon_user")
    attempt = lab.logon(workstation, f"{user}@{inventory.domain.name}", lab.secret(f"user_password:{user}"))
    assert attempt.accepted, f"{user}@{inventory.domain.name} could not log on to {workstation}: {attempt.reason}"

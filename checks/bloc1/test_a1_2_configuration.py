"""A1.2 — Paramétrage des identités, des services réseau, de l'accessibilité et des fonctions de sécurité.

What the brief asks for (OUs, accounts, groups, shares, policy values) comes from the scenario's `expected:`."""
import pytest

from labgrader.remote import linux

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def domain_user(inventory):
    """A domain account as Samba's client tools want it: user@REALM."""
    return lambda user: f"{user}@{inventory.domain.realm}"


# --- CE.2 Identités configurées conformément à la demande du client ------------------------------------------

@criterion("A1.2/CE.2", title="Les unités d'organisation demandées existent", impact=0.5)
def test_the_requested_ous_exist(directory, scenario):
    missing = [ou for ou in scenario.expect("new_ous") if not directory.ou_exists(ou)]
    assert not missing, f"missing OUs: {', '.join(missing)}"


@criterion("A1.2/CE.2", title="Les comptes demandés existent, actifs, dans leur OU", impact=1.0)
def test_the_requested_accounts_exist_enabled_in_their_ou(directory, scenario):
    for user in scenario.expect("new_users"):
        entry = directory.user(user)
        assert entry is not None, f"no account {user}"
        assert directory.in_ou(entry.dn, scenario.expect("new_users_ou")), f"{entry.dn} is not in the OU of the brief"
        assert directory.user_enabled(user), f"{user} is disabled"


@criterion("A1.2/CE.2", title="Les comptes demandés ont le mot de passe initial remis", impact=0.5)
def test_the_requested_accounts_take_their_initial_password(directory, lab, scenario, domain_user):
    refused = [user for user in scenario.expect("new_users")
               if not directory.bind_as(domain_user(user), lab.secret(f"user_password:{user}"))]
    assert not refused, f"initial password refused for: {', '.join(refused)}"


@criterion("A1.2/CE.2", title="Le groupe demandé contient exactement les comptes demandés", impact=0.7)
def test_the_requested_group_holds_the_requested_accounts(directory, scenario):
    group = scenario.expect("new_group")
    assert directory.group(group) is not None, f"no group {group}"
    assert directory.members(group, nested=False) == set(scenario.expect("new_users"))


@criterion("A1.2/CE.2", title="Les comptes héritent de l'appartenance au groupe de tout le personnel", impact=0.7)
def test_the_new_accounts_belong_to_the_staff_group_through_nesting(directory, scenario):
    staff = directory.members(scenario.expect("staff_group"))
    missing = set(scenario.expect("new_users")) - staff
    assert not missing, f"not (even indirectly) in {scenario.expect('staff_group')}: {', '.join(sorted(missing))}"


# --- CE.4 Services réseau activés sans erreur ----------------------------------------------------------------

@criterion("A1.2/CE.4", title="Le poste résout les enregistrements SRV du domaine", impact=1.0)
def test_the_domain_srv_records_resolve_from_the_workstation(workstation, scenario):
    unresolved = [record for record in scenario.expect("srv_records") if not linux.resolves_srv(workstation, record)]
    assert not unresolved, f"no answer from the workstation's resolver for: {', '.join(unresolved)}"


@criterion("A1.2/CE.4", title="Le poste suit l'heure du contrôleur de domaine", impact=0.7)
def test_the_workstation_follows_the_time_of_the_domain_controller(workstation, inventory, role_host, eventually):
    dc_address = inventory.hosts[role_host("samba-dc")].address
    assert workstation.testinfra.service("chrony").is_running, "chrony is not running on the workstation"

    def synchronised():
        source = linux.time_source(workstation)
        assert source == dc_address, f"chrony follows {source or 'no source'}, not the DC ({dc_address})"
    eventually(synchronised, timeout=60, interval=4)


@criterion("A1.2/CE.4", title="Le partage commun est accessible avec un compte du domaine", impact=0.7)
def test_the_common_share_is_reachable_with_a_domain_account(workstation, lab, scenario, domain_user):
    user = scenario.expect("share_user")
    listed, said = linux.smb_listing(workstation, scenario.expect("common_share"), domain_user(user),
                                     lab.secret(f"user_password:{user}"))
    assert listed, f"{scenario.expect('common_share')} as {user}: {said[-300:]}"


# --- CE.5 Adaptation pour un collaborateur en situation de handicap ----------------------------------------------

@criterion("A1.2/CE.5", title="La session du collaborateur a le texte agrandi et le contraste élevé demandés",
           impact=1.0)
def test_the_collaborator_session_has_the_requested_accessibility_settings(workstation, inventory, scenario):
    user = f"{scenario.expect('accessible_user')}@{inventory.domain.name}"
    scaling = linux.user_setting(workstation, user, "org.gnome.desktop.interface", "text-scaling-factor")
    contrast = linux.user_setting(workstation, user, "org.gnome.desktop.a11y.interface", "high-contrast")
    assert scaling == scenario.expect("text_scaling_factor"), f"text-scaling-factor is {scaling or 'not readable'}"
    assert contrast == "true", f"high-contrast is {contrast or 'not readable'}"


# --- CE.6 Fonctions de sécurité, dont le RGPD ---------------------------------------------------------------

@criterion("A1.2/CE.6", title="La politique de mots de passe est celle du brief", impact=1.0)
def test_the_password_policy_is_the_one_of_the_brief(directory, scenario):
    policy = directory.password_policy()
    assert policy["min_length"] >= scenario.expect("min_password_length"), policy
    assert policy["complexity"] == 1, policy
    assert policy["history"] >= scenario.expect("password_history"), policy


@criterion("A1.2/CE.6", title="Les comptes se verrouillent après le nombre d'échecs du brief", impact=0.7)
def test_accounts_lock_after_the_failed_attempts_of_the_brief(directory, scenario):
    policy = directory.password_policy()
    assert policy["lockout_threshold"] == scenario.expect("lockout_threshold"), policy
    assert policy["lockout_minutes"] >= scenario.expect("lockout_minutes"), policy


@criterion("A1.2/CE.6", title="L'annuaire refuse la lecture anonyme", impact=1.0)
def test_the_directory_refuses_anonymous_reads(directory):
    assert directory.anonymous_entries() == 0, "an anonymous bind can read user objects"


@criterion("A1.2/CE.6", title="Le partage de données personnelles n'est lisible que par son groupe (RGPD)",
           impact=1.0)
def test_the_personal_data_share_is_readable_by_its_group_only(workstation, lab, scenario, domain_user):
    share = scenario.expect("personal_data_share")
    reader, outsider = scenario.expect("personal_data_reader"), scenario.expect("personal_data_outsider")
    read, said = linux.smb_listing(workstation, share, domain_user(reader), lab.secret(f"user_password:{reader}"))
    assert read, f"{reader}, member of the share's group, cannot read {share}: {said[-200:]}"
    leaked, said = linux.smb_listing(workstation, share, domain_user(outsider),
                                     lab.secret(f"user_password:{outsider}"))
    assert not leaked, f"{outsider}, outside the share's group, can read {share}"

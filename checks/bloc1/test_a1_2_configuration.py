"""A1.2 — Paramétrage des identités, des services réseau, de l'accessibilité et des fonctions de sécurité.

What the brief asks for (OUs, accounts, groups, shares, policy values) comes from the scenario's `expected:`.
Each fact is judged from where the brief's person would meet it: accounts and passwords by the directory,
shares by a staff member's SMB session from the grader (inside the lab's network), the DC's time service by
a machine of the network, the workstation's resolver and clock on the workstation itself."""
import pytest

from labgrader.remote import workstation_a12 as facts
from labgrader.remote.base import RemoteError
from labgrader.remote.ldap import group_kind, ou_dn

criterion = pytest.mark.criterion


@pytest.fixture(scope="module")
def dc_address(inventory, role_host):
    """The DC's address from the inventory: the grader does not resolve the candidate's domain names."""
    return inventory.hosts[role_host("samba-dc")].address


@pytest.fixture(scope="module")
def smb_as(lab, dc_address):
    """A share of the DC tried from the grader as a domain user ('' for an anonymous session)."""
    netbios = lab.domain().netbios

    def attempt(unc: str, user: str, *, write: bool = False):
        password = lab.secret(f"user_password:{user}") if user else ""
        return lab.smb().access(dc_address, share_name(unc), user, password, domain=netbios, write=write)
    return attempt


def share_name(unc: str) -> str:
    """'//dc1.durand.test/commun' -> 'commun'."""
    return unc.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def parent_of(dn: str) -> str:
    return dn.split(",", 1)[1] if "," in dn else dn


# --- CE.2 Identités configurées conformément à la demande du client ------------------------------------------

@criterion("A1.2/CE.2", title="Les unités d'organisation demandées existent", impact=0.5)
def test_the_requested_ous_exist(directory, scenario):
    gaps = []
    for ou in scenario.expect("new_ous"):
        if directory.ou_exists(ou):
            continue
        leaf = ou.split("/")[-1].lower()
        elsewhere = [dn for dn in directory.ous() if dn.split(",", 1)[0].lower() == f"ou={leaf}"]
        gaps.append(f"l'OU {ou} ({ou_dn(ou, directory.base_dn)}) n'existe pas"
                    + (f" : une OU {ou.split('/')[-1]} existe, mais ailleurs ({'; '.join(elsewhere)})"
                       if elsewhere else ""))
    assert not gaps, " ; ".join(gaps) + " ; le cahier des charges demande " + ", ".join(scenario.expect("new_ous")) + "."


@criterion("A1.2/CE.2", title="Les comptes demandés existent, actifs, dans leur OU", impact=1.0)
def test_the_requested_accounts_exist_enabled_in_their_ou(directory, scenario):
    ou = scenario.expect("new_users_ou")
    gaps = []
    for user in scenario.expect("new_users"):
        entry = directory.user(user)
        if entry is None:
            gaps.append(f"le compte {user} n'existe pas dans l'annuaire")
            continue
        if not directory.in_ou(entry.dn, ou):
            gaps.append(f"le compte {user} est rangé dans {parent_of(entry.dn)}, pas dans l'OU {ou}")
        if not directory.user_enabled(user):
            gaps.append(f"le compte {user} est désactivé")
    assert not gaps, "; ".join(gaps) + f" (demandé : comptes actifs rangés dans l'OU {ou})."


@criterion("A1.2/CE.2", title="Les comptes demandés ont le mot de passe initial remis", impact=0.5)
def test_the_requested_accounts_take_their_initial_password(directory, lab, scenario, inventory):
    refused = []
    for user in scenario.expect("new_users"):
        if directory.user(user) is None:
            refused.append(f"{user} (le compte n'existe pas)")
            continue
        answer = directory.bind_answer(f"{user}@{inventory.domain.realm}", lab.secret(f"user_password:{user}"))
        if not answer.password_right:  # "must change at first logon" means the initial password is the right one
            refused.append(f"{user} ({answer.reason})")
    assert not refused, ("l'annuaire refuse le mot de passe initial remis pour : " + ", ".join(refused)
                         + " ; le cahier des charges demande que chaque compte l'accepte.")


@criterion("A1.2/CE.2", title="Le groupe demandé (groupe de sécurité, dans son OU) contient exactement les comptes "
           "demandés", impact=0.7)
def test_the_requested_group_holds_the_requested_accounts(directory, scenario):
    group, ou = scenario.expect("new_group"), scenario.expect("new_group_ou")
    wanted = set(scenario.expect("new_users"))
    entry = directory.group(group)
    assert entry is not None, f"le groupe {group} n'existe pas dans l'annuaire (demandé dans l'OU {ou})."
    gaps = []
    if not directory.in_ou(entry.dn, ou):
        gaps.append(f"il est rangé dans {parent_of(entry.dn)}, pas dans l'OU {ou}")
    security, scope = group_kind(entry.first("groupType", 0))
    if not security:
        gaps.append("c'est un groupe de distribution, qui ne peut donner aucun droit (un groupe de sécurité est "
                    "attendu)")
    members = directory.members(group, nested=False)
    if members - wanted:
        gaps.append(f"il contient aussi {', '.join(sorted(members - wanted))}")
    if wanted - members:
        gaps.append(f"il ne contient pas {', '.join(sorted(wanted - members))}")
    assert not gaps, (f"groupe {group} : " + " ; ".join(gaps) + f" (demandé : un groupe de sécurité de l'OU {ou} "
                      f"contenant exactement {', '.join(sorted(wanted))}).")


@criterion("A1.2/CE.2", title="Le groupe demandé est imbriqué dans le groupe de tout le personnel, et les comptes "
           "en héritent", impact=0.7)
def test_the_new_accounts_belong_to_the_staff_group_through_nesting(directory, scenario):
    group, staff = scenario.expect("new_group"), scenario.expect("staff_group")
    users = set(scenario.expect("new_users"))
    assert directory.group(group) is not None, \
        f"le groupe {group} n'existe pas : il ne peut pas être imbriqué dans {staff} comme le demande le cahier des charges."
    in_staff = directory.members(staff)  # in chain: through any depth of groups
    direct_users = sorted(users & directory.members(staff, nested=False))
    if group not in in_staff:
        inverted = staff in directory.members(group)
        assert False, (f"le groupe {group} n'est pas membre de {staff}"
                       + (f" (c'est {staff} qui a été mis dans {group} : l'imbrication est inversée)" if inverted else "")
                       + (f" ; {', '.join(direct_users)} y ont été ajoutés directement" if direct_users else "")
                       + f" ; le cahier des charges demande que {group} soit lui-même membre de {staff}.")
    inheriting = users & directory.members(group)
    missing = sorted(users - inheriting)
    assert not missing, (f"{group} est bien membre de {staff}, mais {', '.join(missing)} n'en "
                         f"{'héritent' if len(missing) > 1 else 'hérite'} pas (absents de {group}) ; le cahier des "
                         f"charges demande que les comptes soient membres de {staff} par {group}.")


# --- CE.4 Services réseau activés sans erreur ----------------------------------------------------------------

@criterion("A1.2/CE.4", title="Le poste résout les enregistrements SRV du domaine auprès du contrôleur de domaine",
           impact=1.0)
def test_the_domain_srv_records_resolve_from_the_workstation(workstation, scenario, dc_address):
    gaps = []
    servers = facts.nameservers(workstation)
    for record in scenario.expect("srv_records"):
        answer = facts.srv_answer(workstation, record)
        if answer.no_server:
            gaps.append(f"{record} : aucun serveur DNS du poste ne répond "
                        f"(nameserver {', '.join(servers) or 'aucun'} dans /etc/resolv.conf)")
        elif not answer.targets:
            gaps.append(f"{record} : le serveur DNS {answer.server or '?'} du poste ne connaît pas cet enregistrement")
        elif answer.server != dc_address:
            gaps.append(f"{record} : résolu par {answer.server}, pas par le contrôleur de domaine ({dc_address})")
        elif servers and servers[0] != dc_address:
            gaps.append(f"{record} : le poste interroge d'abord {servers[0]}, qui ne lui répond pas, et n'atteint le "
                        f"contrôleur de domaine qu'après ce délai (nameserver {', '.join(servers)})")
    assert not gaps, ("; ".join(gaps) + " ; la procédure demande que le poste utilise le contrôleur de domaine "
                      "comme DNS et résolve les enregistrements SRV du domaine.")


@criterion("A1.2/CE.4", title="Le contrôleur de domaine distribue l'heure au réseau", impact=0.7)
def test_the_domain_controller_serves_time_to_the_network(lab, role_host, scenario, dc_address):
    network = scenario.expect("time_network")
    dc = lab.ssh(role_host("samba-dc"))
    active, enabled = facts.unit_states(dc, "chrony")
    assert active == "active", f"chrony n'est pas actif sur le contrôleur de domaine ({active}) : il ne peut pas " \
                               f"distribuer l'heure au réseau {network} comme le demande le cahier des charges."
    assert enabled == "enabled", (f"chrony est actif sur le contrôleur de domaine mais pas activé au démarrage "
                                  f"({enabled}) : l'heure ne serait plus distribuée après un redémarrage.")
    answer = facts.ntp_probe(dc_address, lab.recorder)
    if not facts.in_network(answer.source, network):
        raise RemoteError(f"le correcteur ({answer.source}) n'est pas dans le réseau {network} : il ne peut pas "
                          "juger si le contrôleur de domaine y distribue l'heure")
    assert answer.answered, (f"le contrôleur de domaine ({dc_address}) ne répond pas aux requêtes NTP venant de "
                             f"{answer.source}, une adresse du réseau {network} ; le cahier des charges demande qu'il "
                             "distribue l'heure à tout ce réseau.")
    assert answer.serves_time, (f"le contrôleur de domaine répond en NTP mais sans heure utilisable (strate "
                                f"{answer.stratum}, horloge non synchronisée) ; il doit servir l'heure au réseau "
                                f"{network}.")


@criterion("A1.2/CE.4", title="Le poste suit l'heure du contrôleur de domaine, y compris après un redémarrage",
           impact=0.7)
def test_the_workstation_follows_the_time_of_the_domain_controller(workstation, dc_address, eventually):
    active, enabled = facts.unit_states(workstation, "chrony")
    assert active == "active", f"chrony n'est pas actif sur le poste ({active}) : le poste ne suit pas l'heure " \
                               "du contrôleur de domaine comme le demande la procédure."
    assert enabled == "enabled", (f"chrony tourne sur le poste mais n'est pas activé au démarrage ({enabled}) : "
                                  "après un redémarrage le poste ne suivrait plus le contrôleur de domaine.")

    def synchronised():
        followed, known = facts.chrony_sources(workstation)
        assert followed == dc_address, (
            f"chrony sur le poste suit {followed or 'aucune source'} (sources connues : {', '.join(known) or 'aucune'}),"
            f" pas le contrôleur de domaine ({dc_address}) comme le demande la procédure.")
    eventually(synchronised, timeout=60, interval=4)


@criterion("A1.2/CE.4", title="Le partage commun est accessible en lecture et en écriture avec un compte du domaine",
           impact=0.7)
def test_the_common_share_is_reachable_with_a_domain_account(smb_as, directory, scenario):
    share = scenario.expect("common_share")
    # A seeded staff member, and the brief's first new colleague once the directory makes him staff (his
    # account and nesting are CE.2's: a share is not blamed for an account that is not there yet).
    staff = directory.members(scenario.expect("staff_group"))
    users = [scenario.expect("share_user")] + [u for u in scenario.expect("new_users")[:1] if u in staff]
    for user in users:
        access = smb_as(share, user, write=True)
        assert access.listed, (f"{user}, membre du personnel, ne peut pas ouvrir {share} avec son compte du domaine "
                               f"({access.refusal}) ; le cahier des charges le demande accessible en lecture et "
                               "écriture à tout le personnel.")
        assert access.wrote, (f"{user}, membre du personnel, peut lire {share} mais ne peut pas y écrire "
                              f"({access.refusal}) ; le cahier des charges le demande accessible en lecture et "
                              "écriture à tout le personnel.")


# --- CE.5 Adaptation pour un collaborateur en situation de handicap (évaluateur : relevé à l'appui) ----------------

@criterion("A1.2/CE.5", title="La session du collaborateur a le texte agrandi et le contraste élevé demandés",
           impact=1.0, supporting=True)
def test_the_collaborator_session_has_the_requested_accessibility_settings(workstation, inventory, scenario):
    user = f"{scenario.expect('accessible_user')}@{inventory.domain.name}"
    assert facts.account_known(workstation, user), \
        f"le poste ne connaît pas le compte {user} : sa session ne peut pas avoir les réglages demandés."
    wanted = float(scenario.expect("text_scaling_factor"))
    scaling = facts.user_setting(workstation, user, "org.gnome.desktop.interface", "text-scaling-factor")
    contrast = facts.user_setting(workstation, user, "org.gnome.desktop.a11y.interface", "high-contrast")
    gaps = []
    if facts.as_number(scaling) != wanted:
        gaps.append(f"le facteur de texte est {scaling or 'illisible'} (demandé : {wanted:g})")
    if contrast != "true":
        gaps.append(f"le contraste élevé vaut {contrast or 'illisible'} (demandé : activé)")
    assert not gaps, f"session de {user} : " + " ; ".join(gaps) + "."


# --- CE.6 Fonctions de sécurité, dont le RGPD ---------------------------------------------------------------

@criterion("A1.2/CE.6", title="La politique de mots de passe est celle du brief", impact=1.0)
def test_the_password_policy_is_the_one_of_the_brief(directory, scenario):
    policy = directory.password_policy()
    length, history = scenario.expect("min_password_length"), scenario.expect("password_history")
    gaps = []
    if policy["min_length"] < length:
        gaps.append(f"longueur minimale {policy['min_length']} (demandé : au moins {length})")
    if policy["complexity"] != 1:
        gaps.append("complexité désactivée (demandée)")
    if policy["history"] < history:
        gaps.append(f"historique de {policy['history']} mots de passe (demandé : {history})")
    assert not gaps, "politique de mots de passe du domaine : " + " ; ".join(gaps) + "."


@criterion("A1.2/CE.6", title="Les comptes se verrouillent après le nombre d'échecs du brief", impact=0.7)
def test_accounts_lock_after_the_failed_attempts_of_the_brief(directory, scenario):
    policy = directory.password_policy()
    threshold, minutes = scenario.expect("lockout_threshold"), scenario.expect("lockout_minutes")
    gaps = []
    if policy["lockout_threshold"] != threshold:
        gaps.append("aucun verrouillage" if not policy["lockout_threshold"] else
                    f"verrouillage après {policy['lockout_threshold']} échecs")
    if policy["lockout_threshold"] and policy["lockout_minutes"] != minutes:
        gaps.append(f"durée de verrouillage {policy['lockout_minutes'] or 'illimitée (jusqu’à déblocage)'}"
                    + (" minutes" if policy["lockout_minutes"] else ""))
    assert not gaps, ("verrouillage des comptes : " + " ; ".join(gaps)
                      + f" (demandé : après {threshold} échecs, pendant {minutes} minutes).")


@criterion("A1.2/CE.6", title="L'annuaire refuse la lecture anonyme", impact=1.0)
def test_the_directory_refuses_anonymous_reads(directory):
    readable = directory.anonymous_entries()
    assert readable == 0, (f"une connexion anonyme à l'annuaire lit {readable} comptes ; le cahier des charges "
                           "demande que l'annuaire ne soit plus lisible de façon anonyme.")


@criterion("A1.2/CE.6", title="Le partage de données personnelles n'est lisible que par son groupe : ses membres "
           "le lisent, le reste du personnel et les connexions anonymes sont refusés (RGPD)", impact=1.0)
def test_the_personal_data_share_is_readable_by_its_group_only(smb_as, lab, scenario, dc_address):
    share, reader = scenario.expect("personal_data_share"), scenario.expect("personal_data_reader")
    outsider, group = scenario.expect("personal_data_outsider"), scenario.expect("personal_data_group")
    document = scenario.expect("personal_data_file")
    access = smb_as(share, reader)
    assert access.listed, (f"{reader}, membre de {group}, ne peut pas ouvrir {share} ({access.refusal}) ; le cahier "
                           f"des charges demande que les membres de {group} puissent le lire.")
    content = lab.smb().fetch(dc_address, share_name(share), document, reader,
                              lab.secret(f"user_password:{reader}"), domain=lab.domain().netbios)
    assert content is not None, (f"{reader}, membre de {group}, ouvre {share} mais ne peut pas lire le fichier "
                                 f"{document} ; le cahier des charges demande que les membres de {group} puissent "
                                 "lire ce partage.")
    leaks = [label for who, label in ((outsider, f"{outsider}, membre du personnel hors de {group}"),
                                      ("", "une connexion anonyme (sans compte)"))
             if smb_as(share, who).listed]
    assert not leaks, (f"{share} est lisible par " + " et par ".join(leaks) + f" ; le cahier des charges demande "
                       f"que seuls les membres de {group} puissent le lire.")

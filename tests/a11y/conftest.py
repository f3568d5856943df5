"""A sample report exercising every status, outcome and kind of text the grid must survive."""
from __future__ import annotations

import pytest

from labgrader.report import CheckResult, CriterionInfo, Evidence, build_report

SCRIPT = "checks/bloc1/test_a1_1_integration.py"


def sample_report() -> dict:
    criteria = [
        CriterionInfo("A1.1/CE.1", "Le contrôleur de domaine répond en LDAPS avec un certificat valide.",
                      "Intégrer un serveur dans un domaine", "automated"),
        CriterionInfo("A1.1/CE.2", "Les postes clients sont joints au domaine et résolvent ses enregistrements SRV.",
                      "Intégrer un serveur dans un domaine", "automated"),
        CriterionInfo("A1.1/CE.3", "Les stratégies de groupe s'appliquent aux unités d'organisation prévues.",
                      "Configurer les stratégies", "automated"),
        CriterionInfo("A1.1/CE.4", "La documentation d'exploitation est claire et à jour.",
                      "Documenter", "evaluator",
                      "Vérifier que le dossier remis décrit les comptes, les OU et la procédure de retour arrière."),
        CriterionInfo("A1.1/CE.5", "Les sauvegardes de l'annuaire sont planifiées & testées.",
                      "Sauvegarder", "automated"),
        CriterionInfo("A1.1/CE.6", "Le poste Windows applique la politique de mot de passe.",
                      "Configurer les stratégies", "automated"),
    ]
    results = [
        CheckResult(f"{SCRIPT}::test_dc_answers_ldaps", "A1.1/CE.1", "Le DC répond en LDAPS", 1.0, "passed", "",
                    (Evidence("dc1", "ldap3: bind ldaps://dc1:636", "bind ok, certificat émis par LAB-CA"),),
                    0.42),
        CheckResult(f"{SCRIPT}::test_client_joined", "A1.1/CE.2", "Le client est joint au domaine", 1.0,
                    "failed", "realm list ne montre aucun domaine sur client1 <script>alert(1)</script>",
                    (Evidence("client1", "ssh: realm list", ""),
                     Evidence("client1", "ssh: cat /etc/sssd/sssd.conf", "[sssd]\ndomains = \npassword = ***")),
                    1.8),
        CheckResult(f"{SCRIPT}::test_srv_records", "A1.1/CE.2", "Les enregistrements SRV sont résolus", 0.5,
                    "passed", "", (Evidence("client1", "dns: _ldap._tcp.lab.local SRV", "0 100 389 dc1.lab.local."),),
                    0.1),
        CheckResult(f"{SCRIPT}::test_gpo_linked", "A1.1/CE.3", "La GPO est liée à l'OU Postes", 0.7, "error",
                    "dc1 injoignable : connexion refusée sur le port 636 après 3 essais", (), 30.0),
        CheckResult(f"{SCRIPT}::test_windows_password_policy", "A1.1/CE.6", "Politique de mot de passe appliquée",
                    1.0, "skipped", "Nécessite une machine Windows : absente du profil embarqué", (), 0.0),
    ]
    return build_report("bloc1-integration", "A1.1", "Intégrer un serveur dans un domaine",
                        "cand-7f3a9c", criteria, results,
                        "2025-11-29T09:00:00+01:00", "2025-11-29T09:12:30+01:00")


@pytest.fixture
def sample() -> dict:
    return sample_report()

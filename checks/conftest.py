"""Fixtures every activity's checks share: the lab's machines by role, and the workstation of the brief."""
import pytest


@pytest.fixture(scope="module")
def directory(lab, role_host):
    """The domain's directory (LDAPS on the DC)."""
    return lab.directory(role_host("samba-dc"))


@pytest.fixture(scope="module")
def supervision(lab, role_host):
    """The supervision tool's API (Zabbix)."""
    return lab.supervision(role_host("zabbix"))


@pytest.fixture(scope="module")
def workstation(lab, scenario):
    """The workstation the brief is about, over SSH."""
    return lab.ssh(scenario.expect("workstation"))

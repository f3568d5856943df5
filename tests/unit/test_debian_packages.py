"""Debian versions and pending updates, restic snapshots: judged on the grader without a lab."""
from __future__ import annotations

import pytest

from labgrader.remote import debian_packages as dp

INDEX = """Package: durand-intranet
Version: 1.0-2
Architecture: all
Filename: pool/main/d/durand-intranet/durand-intranet_1.0-2_all.deb

Package: durand-outils
Version: 2.1-1
Architecture: all

Package: durand-intranet
Version: 1.0-1
Architecture: all
"""


def test_the_index_gives_the_highest_version_each_package_is_offered_in():
    assert dp.parse_index(INDEX) == {"durand-intranet": "1.0-2", "durand-outils": "2.1-1"}, "une version par paquet"


@pytest.mark.parametrize("installed, wanted, expected", [
    ("1.0-2", "1.0-2", True), ("1.0-10", "1.0-2", True), ("1.0-1", "1.0-2", False),
    ("1.0-2+deb12u1", "1.0-2", True), ("1.0-2~bpo1", "1.0-2", False), ("1:0.9-1", "1.0-2", True),
])
def test_debian_version_ordering_is_debian_s_not_a_string_s(installed, wanted, expected):
    assert dp.at_least(installed, wanted) is expected, f"{installed} ≥ {wanted} selon dpkg : {expected}"


def test_only_installed_packages_in_an_older_version_are_pending():
    installed = dp.parse_installed("durand-intranet 1.0-1 installed\ndurand-outils 2.1-1 installed\n"
                                   "vieux 1.0 config-files\n")
    assert installed == {"durand-intranet": "1.0-1", "durand-outils": "2.1-1"}, "seuls les paquets installés comptent"
    assert dp.pending(installed, dp.parse_index(INDEX)) == [dp.Pending("durand-intranet", "1.0-1", "1.0-2")], \
        "seule la mise à jour de durand-intranet est en attente"


def test_restic_snapshots_are_read_oldest_first_and_the_sftp_command_is_quoted():
    from pathlib import Path

    from labgrader.remote import restic
    snapshots = restic.parse_snapshots('[{"short_id": "b2", "time": "2026-12-01T10:05:00Z", "paths": ["/srv/data"],'
                                       ' "hostname": "srv1"}, {"short_id": "a1", "time": "2026-12-01T09:00:00Z",'
                                       ' "paths": ["/srv/data"], "hostname": "srv1"}]')
    assert [s.id for s in snapshots] == ["a1", "b2"], "la plus récente en dernier"
    command = restic.sftp_command("192.168.57.30", 22, "vagrant", "/k ey", Path("/tmp/kh"))
    assert "'/k ey'" in command and command.endswith("sudo -n /usr/lib/openssh/sftp-server"), command
    assert "StrictHostKeyChecking=yes" in command and "BatchMode=yes" in command, "jamais d'invite, clé d'hôte exigée"


@pytest.mark.parametrize("written, epoch", [
    ("2026-12-01T10:05:00.123456789+01:00", 1796115900.123456),
    ("2026-12-01T09:05:00Z", 1796115900.0),
    ("2026-12-01T09:05:00.5Z", 1796115900.5),
])
def test_restic_snapshot_times_are_read_to_the_microsecond(written, epoch):
    from labgrader.remote import restic
    assert restic.snapshot_epoch(written) == pytest.approx(epoch, abs=1e-5), f"{written} lu à tort"


def test_offers_merge_to_the_highest_version():
    assert dp.merge({"a": "1.0-2"}, {"a": "1.0-10", "b": "2"}, {"a": "1.0-3"}) == {"a": "1.0-10", "b": "2"}, \
        "la plus haute version selon dpkg"


@pytest.mark.parametrize("setting, parsed", [
    ("sftp:restic@bkp1:/srv/restic/srv1", ("bkp1", "/srv/restic/srv1")),
    ('"sftp:restic@192.168.57.40:/srv/restic/srv1"', ("192.168.57.40", "/srv/restic/srv1")),
    ("/var/backups/local", None), ("rest:http://bkp1:8000/", None),
])
def test_the_repository_a_backup_job_names_is_read_as_host_and_path(setting, parsed):
    from labgrader.remote import restic
    assert restic.parse_repository(setting) == parsed, f"{setting} lu à tort"

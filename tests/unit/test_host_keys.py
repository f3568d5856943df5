"""SSH host authentication, without a network: the policy paramiko asks about every key the grader sees."""
from __future__ import annotations

import paramiko
import pytest

from labgrader.remote.hostkeys import HostKeyRefused, PinnedHostKey, fingerprint, pinned_fingerprint



def _key() -> paramiko.PKey:
    # paramiko cannot generate ed25519 keys; an RSA key is as good for the policy.
    return paramiko.RSAKey.generate(1024)


def test_a_pinned_key_line_or_fingerprint_is_accepted_and_any_other_refused(tmp_path):
    key, other = _key(), _key()
    line = f"{key.get_name()} {key.get_base64()} comment"
    for pin in (line, fingerprint(key)):
        policy = PinnedHostKey("client1", 22, pin=pin, known_hosts=tmp_path / "known_hosts", trust_on_first_use=True)
        policy.missing_host_key(None, "10.0.0.5", key)
        with pytest.raises(HostKeyRefused, match="n'est pas celle de l'inventaire"):
            policy.missing_host_key(None, "10.0.0.5", other)
    assert not (tmp_path / "known_hosts").exists(), "a pinned key is never written to known_hosts"
    assert pinned_fingerprint(line) == fingerprint(key)


def test_an_unknown_key_is_refused_unless_trusted_on_first_use_which_records_it(tmp_path):
    key, other = _key(), _key()
    known = tmp_path / "known_hosts"
    strict = PinnedHostKey("client1", 2222, pin=None, known_hosts=known, trust_on_first_use=False)
    with pytest.raises(HostKeyRefused, match="clé d'hôte SSH inconnue"):
        strict.missing_host_key(None, "10.0.0.5", key)
    PinnedHostKey("client1", 2222, pin=None, known_hosts=known, trust_on_first_use=True).missing_host_key(
        None, "10.0.0.5", key)
    assert known.read_text().startswith("[10.0.0.5]:2222 ssh-rsa ")
    strict.missing_host_key(None, "10.0.0.5", key)  # recorded: accepted without trusting anything new
    for trusting in (False, True):  # a changed key is always refused
        with pytest.raises(HostKeyRefused, match="diffère de celle enregistrée"):
            PinnedHostKey("client1", 2222, pin=None, known_hosts=known,
                          trust_on_first_use=trusting).missing_host_key(None, "10.0.0.5", other)


def test_a_malformed_pin_is_refused_by_the_inventory(tmp_path):
    from labgrader import inventory
    from labgrader.errors import InputError

    path = tmp_path / "inv.yml"
    path.write_text("hosts:\n  c:\n    address: 127.0.0.1\n    transports:\n"
                    "      ssh: {user: u, host_key: 'not a key; rm -rf /'}\n")
    with pytest.raises(InputError, match="hosts.c.transports.ssh.host_key"):
        inventory.load(path)

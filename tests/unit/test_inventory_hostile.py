"""An inventory is a trust boundary: the candidate may have written it. Whatever its bytes, loading it gives
an Inventory or one InputError line naming the file and the field, never a traceback; secrets are kept
exactly as written; paths are resolved beside the inventory; nothing reaches beyond what it may name."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from labgrader import inventory
from labgrader.errors import InputError

BASE = ("secrets_file: secrets.yml\nhosts:\n  client1:\n    address: 127.0.0.1\n    transports:\n"
        "      ssh: {user: evaluateur, password: {secret: pw}}\n")


def load(tmp_path: Path, text: str | bytes, secrets: str = "pw: x\n") -> inventory.Inventory:
    path = tmp_path / "candidate.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "secrets.yml").write_text(secrets)
    return inventory.load(path)


@pytest.mark.parametrize("text, expected", [
    (BASE + "  client1:\n    address: 127.0.0.2\n    transports: {}\n", "key 'client1' is given twice"),
    (BASE.replace("{user: evaluateur,", "{port: true, user: evaluateur,"), "hosts.client1.transports.ssh.port"),
    (BASE.replace("address: 127.0.0.1", "address: ''"), "hosts.client1.address"),
    (BASE.replace("address: 127.0.0.1", "address: 'x; rm -rf /'"), "hosts.client1.address"),
    (BASE.replace("{secret: pw}", "{env: HOME}"), "only variables named LABGRADER_… may be referenced"),
    (BASE.replace("secrets.yml", "../../etc/secrets.yml"), "secrets_file: must be a file beside the inventory"),
    (BASE.replace("secrets.yml", "/etc/secrets.yml"), "secrets_file: must be a file beside the inventory"),
    ("network_namespace: lg-bloc1-integration\n" + BASE, "network_namespace: only an inventory `labgrader up` wrote"),
    (b"hosts:\n  \xff\xfe: {}\n", "not UTF-8 text"),
    ("hosts: " + "[" * 5000 + "]" * 5000 + "\n", "candidate.yml"),
    ("hosts: {a: " + "9" * 5000 + "}\n", "candidate.yml"),
])
def test_hostile_inventories_are_refused_in_one_line(tmp_path, text, expected):
    with pytest.raises(InputError) as caught:
        load(tmp_path, text)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(("candidate.yml", str(tmp_path)))


@pytest.mark.parametrize("written", ["0123", "yes", "12:30", "~", "null", "1e3", "0x1F"])
def test_secrets_are_kept_exactly_as_written(tmp_path, written):
    loaded = load(tmp_path, BASE, secrets=f"pw: {written}\n")
    assert loaded.secret(loaded.hosts["client1"].transports.ssh.password, "f") == written


def test_key_files_are_found_beside_the_inventory_and_tilde_is_expanded(tmp_path):
    relative = load(tmp_path, BASE.replace("password: {secret: pw}", "key_file: keys/evaluation"))
    assert relative.hosts["client1"].transports.ssh.key_file == str(tmp_path.resolve() / "keys" / "evaluation")
    home = load(tmp_path, BASE.replace("password: {secret: pw}", "key_file: ~/.ssh/evaluation_ed25519"))
    assert home.hosts["client1"].transports.ssh.key_file == str(Path.home() / ".ssh" / "evaluation_ed25519")


def test_a_secrets_file_that_is_not_a_mapping_of_strings_is_one_line(tmp_path):
    loaded = load(tmp_path, BASE, secrets="pw: [1, 2]\n")
    with pytest.raises(InputError, match="expected a mapping of secret names to values"):
        loaded.secret(loaded.hosts["client1"].transports.ssh.password, "f")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4),
                              max_leaves=20).map(lambda doc: yaml.safe_dump(doc).encode())))
def test_any_bytes_give_an_inventory_or_one_line(tmp_path, data):
    try:
        load(tmp_path, data)
    except InputError as exc:
        assert "\n" not in str(exc)

"""`labgrader cluster enrol` against the real 2-member cluster: a token made on member 1 with the incus CLI, used
from the grader's namespace, leaves a file remote.load() reads and a client the cluster trusts; the same token
cannot be used twice; a token whose fingerprint was altered is refused before anything is sent (its secret stays
unused: the genuine token still works afterwards)."""
from __future__ import annotations

import base64
import json
import os

import pytest

from labgrader import cli
from labgrader.incus import remote

from .conftest import GRADER_NS, TUNNEL_LOCAL, incus

pytestmark = pytest.mark.timeout(300)

def incus_m1(*args: str) -> str:
    return incus("m1", *args)


def trusted_names() -> list[str]:
    return sorted(cert["name"] for cert in json.loads(incus_m1("config", "trust", "list", "-f", "json")))


def secret_of(token: str) -> str:
    return json.loads(base64.b64decode(token))["secret"]


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "state" / "incus" / "cluster.yml"
    monkeypatch.setenv("LABGRADER_INCUS_CONFIG", str(path))
    return path


def enrol(token: str) -> int:
    return cli.main(["cluster", "enrol", token, "--namespace", GRADER_NS, "--tunnel-local", TUNNEL_LOCAL])


def test_enrol_then_trusted_and_a_token_serves_once(cluster, config, capsys):
    token = incus_m1("config", "trust", "add", "lgie-enrolled", "--quiet")
    assert enrol(token) == 0
    printed = capsys.readouterr()
    assert "members: m1, m2" in printed.out and "cluster.yml" in printed.out
    assert secret_of(token) not in printed.out + printed.err + config.read_text()
    assert oct(config.stat().st_mode & 0o777) == "0o600" and oct(config.parent.stat().st_mode & 0o777) == "0o700"

    enrolled = remote.load()
    assert (enrolled.address, enrolled.namespace, enrolled.tunnel_local) == ("10.250.0.11:8443", GRADER_NS,
                                                                               TUNNEL_LOCAL)
    assert enrolled.client().get("/1.0")["auth"] == "trusted"
    assert "lgie-enrolled" in trusted_names()

    # Single use: the cluster refuses it, one line, and the enrolment that works is left as it was.
    before = config.read_bytes(), (config.parent / "client.key").read_bytes()
    assert enrol(token) == 2
    err = capsys.readouterr().err
    assert "trust token: refused by the cluster at 10.250.0.11:8443" in err and len(err.strip().splitlines()) == 1
    assert secret_of(token) not in err
    assert (config.read_bytes(), (config.parent / "client.key").read_bytes()) == before
    assert remote.load().client().get("/1.0")["auth"] == "trusted"


def test_an_altered_fingerprint_trusts_nothing(cluster, config, capsys):
    token = incus_m1("config", "trust", "add", "lgie-altered", "--quiet")
    doc = json.loads(base64.b64decode(token))
    doc["fingerprint"] = doc["fingerprint"][:-4] + ("0000" if not doc["fingerprint"].endswith("0000") else "1111")
    altered = base64.b64encode(json.dumps(doc).encode()).decode()
    trusted_before = trusted_names()

    assert enrol(altered) == 3
    err = capsys.readouterr().err
    assert "no cluster member answered" in err and "not the pinned one" in err
    assert len(err.strip().splitlines()) == 1 and doc["secret"] not in err
    assert not config.exists() and os.listdir(config.parent) == []
    assert trusted_names() == trusted_before
    # The secret never left this host: the genuine token is still pending, and works.
    assert "lgie-altered" in incus_m1("config", "trust", "list-tokens", "-f", "csv")
    assert enrol(token) == 0
    assert remote.load().client().get("/1.0")["auth"] == "trusted"

"""The Incus foundation against a real 2-member cluster: the box image imported once, a privileged lab machine on
member 1 behind its lab's isolated bridge, reached by SSH from the grader's namespace, exec, security.* xattrs,
the loss of member 2, and deletion leaving nothing. The tests run in this order and share the lab."""
from __future__ import annotations

import time

import pytest

from labgrader import box
from labgrader.incus import client as incus_client, image
from labgrader.incus.client import IncusError

from .conftest import TIMINGS, grader_ssh

pytestmark = pytest.mark.timeout(300)

NETWORK, ACL = "lgitlab1", "lgit-isolated"
GATEWAY, LAB_CIDR, GRADER_CIDR = "192.168.56.1", "192.168.56.0/24", "10.250.1.0/24"
DC1_ADDRESS, CLIENT1_ADDRESS = "192.168.56.10", "192.168.56.20"
DC1, CLIENT1, ON_M2 = "lgit-dc1", "lgit-client1", "lgit-m2"  # cgroups are named after instances: never a name a vagrant-lxc lab uses


def rule(action: str, **fields: str) -> dict:
    return {"action": action, "state": "enabled", **fields}


def wait_until(what: str, predicate, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


def state(client, name: str, action: str) -> None:
    client.run("PUT", f"/1.0/instances/{name}/state", {"action": action, "timeout": 30, "force": True}, timeout=90)


@pytest.fixture(scope="module")
def box_image(cluster):
    archive = box.rootfs_archive()
    if not archive.is_file():
        pytest.fail(f"no box root file system at {archive} (labgrader box build)")
    before = archive.stat()
    started = time.monotonic()
    first = image.ensure(cluster.members["m1"], key=box.rootfs_key(), archive=archive)
    TIMINGS["image import (first, 396 MB, fingerprint computed too)"] = time.monotonic() - started
    after = archive.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)  # the cache is only read
    return first


def test_image_import_is_content_addressed(cluster, box_image):
    assert box_image.uploaded and box_image.alias == f"labgrader/{box.rootfs_key()}"
    started = time.monotonic()
    again = image.ensure(cluster.https)  # from the grader, over HTTPS, through the other transport
    TIMINGS["image import (second: alias found, nothing sent)"] = time.monotonic() - started
    assert (again.uploaded, again.fingerprint) == (False, box_image.fingerprint)
    assert cluster.members["m2"].get("/1.0/images") == [f"/1.0/images/{box_image.fingerprint}"]
    meta = cluster.members["m1"].get(f"/1.0/images/{box_image.fingerprint}")
    assert meta["properties"]["labgrader.rootfs_key"] == box.rootfs_key()


def test_https_pins_the_cluster_certificate(cluster):
    # Member 2 from the grader: routed through member 1, the same cluster certificate.
    assert cluster.https_to("m2").get("/1.0")["environment"]["server_name"] == "m2"
    assert cluster.https.get("/1.0")["auth"] == "trusted"
    with pytest.raises(IncusError, match="not the pinned one"):
        cluster.https_to("m1", fingerprint="AB" * 32).get("/1.0")


@pytest.fixture(scope="module")
def lab(cluster, box_image, grader_key):
    """One lab on member 1: its bridge network (defined on every member, as Incus wants), the isolation ACL, and a
    privileged machine with a fixed address, answering SSH from the grader."""
    m1 = cluster.members["m1"]
    m1.call("POST", "/1.0/network-acls", {
        "name": ACL, "description": "a lab reaches only itself and the grader's subnet (tcp)",
        "ingress": [rule("allow", source=GRADER_CIDR), rule("allow", source=LAB_CIDR)],
        "egress": [rule("allow", destination=GRADER_CIDR, protocol="tcp"), rule("allow", destination=LAB_CIDR)]})
    for member in ("m1", "m2"):
        m1.call("POST", f"/1.0/networks?target={member}", {"name": NETWORK, "type": "bridge"})
    m1.run("POST", "/1.0/networks", {"name": NETWORK, "type": "bridge", "config": {
        "ipv4.address": f"{GATEWAY}/24", "ipv4.nat": "false", "ipv4.dhcp": "true", "ipv6.address": "none",
        "dns.domain": "lab.example", "security.acls": ACL, "security.acls.default.egress.action": "reject",
        "security.acls.default.ingress.action": "reject"}})
    for name, address, what in ((DC1, DC1_ADDRESS, "first instance on m1: image unpacked into the pool"),
                                (CLIENT1, CLIENT1_ADDRESS, "second instance on m1: a snapshot")):
        started = time.monotonic()
        m1.run("POST", "/1.0/instances?target=m1", {
            "name": name, "type": "container", "source": {"type": "image", "alias": box_image.alias},
            "config": {"security.privileged": "true", "limits.memory": "2GiB"},
            "devices": {"eth0": {"type": "nic", "name": "eth0", "network": NETWORK, "ipv4.address": address}}})
        TIMINGS[f"create ({what})"] = time.monotonic() - started
        assert cluster.rootfs_ready("m1", name), f"{name}: no root file system, not starting the container"
    started = time.monotonic()
    for name in (DC1, CLIENT1):
        state(m1, name, "start")
    for address in (DC1_ADDRESS, CLIENT1_ADDRESS):
        wait_until(f"SSH to {address} from the grader",
                   lambda: grader_ssh(grader_key, address, "true").returncode == 0, 90)
    TIMINGS["start of both -> both answer SSH from the grader namespace"] = time.monotonic() - started
    return DC1


def test_the_machine_answers_ssh_from_the_grader(cluster, lab, grader_key):
    answer = grader_ssh(grader_key, DC1_ADDRESS, "hostname; ip -4 -o addr show eth0")
    assert answer.returncode == 0, answer.stderr
    name, address = answer.stdout.splitlines()
    assert name == DC1 and f"{DC1_ADDRESS}/24" in address
    instance = cluster.members["m2"].get(f"/1.0/instances/{DC1}")  # any member answers for the whole cluster
    assert (instance["location"], instance["status"]) == ("m1", "Running")
    assert instance["config"]["security.privileged"] == "true"


def test_exec_returns_output_and_status(cluster, lab):
    command = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    for client in (cluster.members["m1"], cluster.https):
        started = time.monotonic()
        result = client.exec(DC1, command)
        TIMINGS[f"exec round trip ({client.endpoint})"] = time.monotonic() - started
        assert (result.status, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert cluster.members["m1"].exec(DC1, ["cat", "/etc/hostname"]).stdout == f"{DC1}\n"
    with pytest.raises(IncusError, match="Instance not found"):
        cluster.members["m1"].exec("lgit-nothing", ["true"])


def test_security_xattrs_work_in_the_privileged_machine(cluster, lab):
    # Samba AD stores its NT ACLs in security.NTACL: an unprivileged container refuses these.
    result = cluster.members["m1"].exec(DC1, ["sh", "-c", "touch /root/x && setfattr -n security.test -v 1 /root/x "
                                                          "&& getfattr --only-values -n security.test /root/x"])
    assert (result.status, result.stdout) == (0, "1"), result.stderr


def test_the_lab_reaches_neither_the_cluster_nor_outside(cluster, lab):
    probe = "timeout 2 bash -c '</dev/tcp/{}/{}'"
    m1 = cluster.members["m1"]
    assert m1.exec(DC1, ["bash", "-c", probe.format("10.250.0.11", 8443)]).status != 0  # the member's API
    assert m1.exec(DC1, ["bash", "-c", probe.format("1.1.1.1", 443)]).status != 0
    assert m1.exec(DC1, ["bash", "-c", probe.format(CLIENT1_ADDRESS, 22)]).status == 0  # its own lab: open


def test_losing_member_2_leaves_member_1_working(cluster, lab, grader_key, monkeypatch):
    m1 = cluster.members["m1"]
    # /wait in 1 s slices: the first instance on m2 takes longer (the image copied and unpacked there).
    monkeypatch.setattr(incus_client, "WAIT_SLICE_S", 1)
    started = time.monotonic()
    m1.run("POST", "/1.0/instances?target=m2", {
        "name": ON_M2, "type": "container", "source": {"type": "image", "alias": image.alias_of(box.rootfs_key())},
        "config": {"security.privileged": "true"}})
    monkeypatch.undo()
    TIMINGS["create (first instance on m2, from m1: image copied and unpacked there)"] = time.monotonic() - started
    assert cluster.rootfs_ready("m2", ON_M2)
    state(m1, ON_M2, "start")
    assert m1.exec(ON_M2, ["true"]).status == 0
    killed = time.monotonic()
    cluster.kill("m2")
    try:
        def m2_offline():
            members = {m["server_name"]: m["status"] for m in m1.get("/1.0/cluster/members?recursion=1")}
            return members["m2"] == "Offline" and members["m1"] == "Online"
        wait_until("m2 seen Offline by m1", m2_offline, 60, every=1)
        TIMINGS["member 2 killed -> seen Offline by member 1"] = time.monotonic() - killed
        # The cluster's list still shows the instance, in Error; asking for it alone, or into it, fails.
        listed = {i["name"]: i["status"] for i in m1.get("/1.0/instances?recursion=1")}
        assert listed == {DC1: "Running", CLIENT1: "Running", ON_M2: "Error"}
        with pytest.raises(IncusError):  # Incus 6.0.4: "Server isn't ready yet", forwarded to the dead member
            m1.get(f"/1.0/instances/{ON_M2}")
        with pytest.raises(IncusError):
            m1.exec(ON_M2, ["true"])
        assert m1.exec(DC1, ["true"]).status == 0
        assert grader_ssh(grader_key, DC1_ADDRESS, "true").returncode == 0
    finally:
        restarted = time.monotonic()
        cluster.start("m2")

        def m2_back():
            try:
                return m1.exec(ON_M2, ["true"]).status == 0
            except IncusError:  # "Server isn't ready yet" for a few seconds
                return False
        wait_until("m2 back and its instance answering", m2_back, 60, every=1)
        TIMINGS["member 2 restarted -> its instance answers exec again"] = time.monotonic() - restarted


def test_delete_removes_everything(cluster, lab, box_image):
    m1 = cluster.members["m1"]
    started = time.monotonic()
    for name in (DC1, CLIENT1, ON_M2):
        state(m1, name, "stop")
        m1.run("DELETE", f"/1.0/instances/{name}")
    TIMINGS["stop + delete of three instances"] = time.monotonic() - started
    m1.run("DELETE", f"/1.0/networks/{NETWORK}")
    m1.run("DELETE", f"/1.0/network-acls/{ACL}")
    m1.run("DELETE", f"/1.0/images/{box_image.fingerprint}")
    m2 = cluster.members["m2"]
    assert m2.get("/1.0/instances?all-projects=true") == []
    assert m2.get("/1.0/images") == [] and m2.get("/1.0/network-acls") == []
    assert not any(net["managed"] for net in m2.get("/1.0/networks?recursion=1"))
    assert not m1.exists(f"/1.0/images/aliases/{box_image.alias}")

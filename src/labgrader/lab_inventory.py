"""The inventory `labgrader up` writes for the lab it built (build side): addresses, transports from the roles,
credential references into a root-only secrets file. The check side reads it with inventory.load."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import box, paths, roles
from .errors import LabError
from .inventory import SECRETS_FILE
from .remote.tls import pem_fingerprint

if TYPE_CHECKING:
    from .lab import RunningLab


def write_secrets(path: Path, values: dict[str, str]) -> None:
    paths.write_private(path, yaml.safe_dump(values, allow_unicode=True))


def ssh_key(state: Path) -> Path:
    """A private copy of Vagrant's insecure key: ssh refuses a key file others can read."""
    key = state / "vagrant_insecure_key"
    if not key.is_file():
        state.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(box.vagrant_key(), key)
        key.chmod(0o600)
    return key


def write_for_lab(lab: "RunningLab") -> Path:
    domain = lab.scenario.lab.domain
    fields = {"realm": domain.realm, "domain": domain.name, "netbios": domain.netbios}
    key = ssh_key(paths.state_dir())
    hosts = {}
    for machine in lab.machines:
        role = roles.load(machine.role)
        transports = {}
        for kind, template in role.transports.items():
            values = _fill(template, {**fields, "address": str(machine.address)})
            if kind == "ssh":  # the embedded provider's machines all take Vagrant's key; theirs is pinned
                values = {"port": 22, "user": "vagrant", "key_file": str(key),
                          "host_key": host_key(lab, machine.name), **values}
            elif role.tls_certificate:  # the service's own certificate, pinned: it names a host, not the address
                values = {**values, "tls_fingerprint": certificate_fingerprint(lab, machine.name, role.tls_certificate)}
            transports[kind] = values
        hosts[machine.name] = {"address": str(machine.address), "role": machine.role, "transports": transports}
    document = {
        "scenario": lab.scenario.id, "profile": lab.profile, "network_namespace": lab.namespace,
        "secrets_file": SECRETS_FILE,
        "domain": {"realm": domain.realm, "name": domain.name, "netbios": domain.netbios, "base_dn": domain.base_dn},
        "hosts": hosts,
    }
    path = lab.dir / "inventory.yml"
    header = "# Written by `labgrader up`. Credentials are references into secrets.yml (root only).\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    write_known_hosts(lab, path)
    return path


def read_from_machine(lab: "RunningLab", machine: str, path: str, what: str) -> str:
    """A file read from inside the machine, the provider's way: what the machine is, not what answers on the
    network."""
    try:
        text = lab.provider.read_file(lab, machine, path)
    except LabError as error:
        raise LabError(f"{machine}: cannot read its {what} {path} ({error})") from None
    if not text.strip():
        raise LabError(f"{machine}: cannot read its {what} {path} (empty)")
    return text


def host_key(lab: "RunningLab", machine: str) -> str:
    parts = read_from_machine(lab, machine, "/etc/ssh/ssh_host_ed25519_key.pub", "SSH host key").split()
    if len(parts) < 2:
        raise LabError(f"{machine}: its SSH host key is not a public key line")
    return f"{parts[0]} {parts[1]}"


def certificate_fingerprint(lab: "RunningLab", machine: str, path: str) -> str:
    try:
        return pem_fingerprint(read_from_machine(lab, machine, path, "TLS certificate"))
    except ValueError:
        raise LabError(f"{machine}: {path} holds no PEM certificate") from None


def write_known_hosts(lab: "RunningLab", inventory_path: Path) -> Path:
    """An OpenSSH known_hosts of the lab's machines, for `labgrader ssh` (strict host key checking)."""
    document = yaml.safe_load(inventory_path.read_text())
    lines = [f"{host['address']} {host['transports']['ssh']['host_key']}"
             for host in document["hosts"].values() if "ssh" in host["transports"]]
    path = lab.dir / "ssh_known_hosts"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fill(template: Any, fields: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**fields)
    if isinstance(template, dict):
        return {k: _fill(v, fields) for k, v in template.items()}
    return template

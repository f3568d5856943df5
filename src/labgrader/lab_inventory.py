"""The inventory `labgrader up` writes for the lab it built (build side): addresses, transports from the roles,
credential references into a root-only secrets file. The check side reads it with inventory.load."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import box, paths, roles
from .inventory import SECRETS_FILE

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
            if kind == "ssh":  # the embedded provider's machines all take Vagrant's key
                values = {"port": 22, "user": "vagrant", "key_file": str(key), **values}
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
    return path


def _fill(template: Any, fields: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**fields)
    if isinstance(template, dict):
        return {k: _fill(v, fields) for k, v in template.items()}
    return template

"""Scenarios are data: one YAML file per activity under `scenarios/`. This module is their schema and loader.

Loading never raises anything but `InputError`, whose one-line message names the file and the field
(`scenarios/x.yaml: profiles.embedded.machines[1].role: unknown role 'foo' (known: …)`).
"""
from __future__ import annotations

import datetime
import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from . import paths
from .errors import InputError
from .yamlfile import read_yaml

NAME = r"^[a-z][a-z0-9-]{0,30}$"
SCENARIO_ID = r"^bloc[1-3]-[a-z][a-z0-9-]*$"
ACTIVITY_ID = r"^A[1-3]\.[1-9]$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Network(Strict):
    cidr: ipaddress.IPv4Network = Field(description="the lab's subnet; the host side of its bridge is the first address")

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return next(self.cidr.hosts())


class Domain(Strict):
    realm: str = Field(pattern=r"^[A-Z0-9][A-Z0-9.-]+\.[A-Z]{2,}$", description="Kerberos realm, upper case")
    netbios: str = Field(pattern=r"^[A-Z][A-Z0-9-]{0,14}$")
    admin_password: SecretStr

    @property
    def name(self) -> str:
        return self.realm.lower()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.name.split("."))


class Zabbix(Strict):
    admin_password: SecretStr


class User(Strict):
    username: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,19}$")
    given_name: str
    surname: str
    ou: str = Field(description="OU path from the domain root, outermost first, e.g. 'Durand/Comptabilite'")
    password: SecretStr
    enabled: bool = True


class Group(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_ -]{0,63}$")
    ou: str
    members: tuple[str, ...] = Field(default=(), description="users or groups (nesting allowed)")


class GlpiUser(Strict):
    """A person GLPI knows (a ticket's requester…): no password, they do not log in to the lab's GLPI."""
    name: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,39}$")
    firstname: str = ""
    realname: str = ""
    groups: tuple[str, ...] = ()


class GlpiComputer(Strict):
    """A computer as the parc's former inventory left it in GLPI, with its financial information."""
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    entity: str | None = Field(default=None, description="one of seed.glpi.entities (default: the root entity)")
    serial: str | None = None
    comment: str | None = None
    buy_date: datetime.date | None = None
    warranty_date: datetime.date | None = Field(default=None, description="start of the warranty")
    warranty_months: int | None = Field(default=None, ge=0, le=240)


class GlpiSeed(Strict):
    """What GLPI holds when the lab starts (glpi role): entities under the root one, ITIL categories, groups,
    users and their groups, computers."""
    entities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    users: tuple[GlpiUser, ...] = ()
    computers: tuple[GlpiComputer, ...] = ()

    @model_validator(mode="after")
    def _references_exist(self) -> "GlpiSeed":
        for index, user in enumerate(self.users):
            for group in user.groups:
                if group not in self.groups:
                    raise ValueError(f"users[{index}].groups: '{group}' is not one of seed.glpi.groups")
        for index, computer in enumerate(self.computers):
            if computer.entity is not None and computer.entity not in self.entities:
                raise ValueError(f"computers[{index}].entity: '{computer.entity}' is not one of seed.glpi.entities")
        return self

    @field_validator("computers")
    @classmethod
    def _unique_names(cls, computers: tuple[GlpiComputer, ...]) -> tuple[GlpiComputer, ...]:
        names = [c.name for c in computers]
        if len(set(names)) != len(names):
            raise ValueError("a computer name is listed twice")
        return computers


class Seed(Strict):
    ous: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()
    users: tuple[User, ...] = ()
    glpi: GlpiSeed | None = None

    @model_validator(mode="after")
    def _references_exist(self) -> "Seed":
        ous = set(self.ous)
        for kind, items in (("users", self.users), ("groups", self.groups)):
            for index, item in enumerate(items):
                if item.ou not in ous:
                    raise ValueError(f"{kind}[{index}].ou: '{item.ou}' is not one of seed.ous")
        for ou in self.ous:
            parent = ou.rpartition("/")[0]
            if parent and parent not in ous:
                raise ValueError(f"ous: '{ou}' needs its parent '{parent}' listed first")
        known = {u.username for u in self.users} | {g.name for g in self.groups}
        for index, group in enumerate(self.groups):
            for member in group.members:
                if member not in known:
                    raise ValueError(f"groups[{index}].members: '{member}' is neither a seeded user nor group")
        return self


class Machine(Strict):
    name: str = Field(pattern=NAME)
    role: str
    address: ipaddress.IPv4Address
    memory_mb: int = Field(default=1024, ge=128, le=16384)


class Profile(Strict):
    provider: Literal["lxc", "virtualbox", "hyperv", "libvirt", "incus"]
    machines: tuple[Machine, ...] = Field(min_length=1)

    @field_validator("machines")
    @classmethod
    def _unique(cls, machines: tuple[Machine, ...]) -> tuple[Machine, ...]:
        for attr in ("name", "address"):
            seen = [getattr(m, attr) for m in machines]
            dupes = sorted({str(v) for v in seen if seen.count(v) > 1})
            if dupes:
                raise ValueError(f"{attr} used twice: {', '.join(dupes)}")
        return machines


class Step(Strict):
    """A script run as root on one machine: a fault of the starting state, or a step of the solution."""
    machine: str = Field(pattern=NAME)
    title: str
    script: str = Field(description="path under scenarios/<id>/, or under the project root when it starts with labs/")
    secrets: dict[str, str] = Field(default={}, description="environment variable -> secret name")


class Grading(Strict):
    """What the evaluator's run needs from an inventory, verified before any verdict (the preflight)."""
    roles: tuple[str, ...] = Field(default=(), description="roles the checks look up (a windows-dc does for a samba-dc)")
    secrets: tuple[str, ...] = Field(default=(), description="secret names the checks read, e.g. user_password:amartin")


# Secret names Scenario.secrets() gives from other fields; lab.secrets may not take them.
RESERVED_SECRETS = ("domain_admin_password", "zabbix_admin_password")


class LabSpec(Strict):
    """What a scenario says its lab is: network, domain, tools' admin passwords, given passwords."""
    network: Network
    domain: Domain
    zabbix: Zabbix | None = None
    passwords: dict[str, SecretStr] = Field(
        default={}, description="initial passwords the brief gives for accounts the candidate creates, by user")
    secrets: dict[str, SecretStr] = Field(
        default={}, description="other secrets of the lab by name (a backup repository's password, a private key "
                                "a machine uses…), handed to steps and checks under that name")

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, secrets: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name in secrets:
            if not re.match(r"^[a-z][a-z0-9_]{0,62}$", name):
                raise ValueError(f"'{name}' is not a secret name (lower-case letters, digits and _)")
            if name in RESERVED_SECRETS:
                raise ValueError(f"'{name}' is the name of a secret labgrader defines itself")
        return secrets


class Scenario(Strict):
    id: str = Field(pattern=SCENARIO_ID)
    activity: str = Field(pattern=ACTIVITY_ID)
    title: str
    brief: str
    lab: LabSpec
    seed: Seed = Seed()
    expected: dict[str, str | int | bool | tuple[str, ...] | dict[str, str]] = Field(
        default={}, description="what the brief asks for, as the checks read it (names, OUs, users…)")
    profiles: dict[str, Profile] = Field(min_length=1)
    setup: tuple[Step, ...] = Field(default=(), description="the starting state: run once, after the roles")
    solution: tuple[Step, ...] = Field(default=(), description="the reference solution, run by `labgrader solve`")
    grading: Grading = Grading()
    checks: tuple[str, ...] = Field(default=(), description="the check modules under checks/ this scenario grades "
                                    "(default: every module of its activity), e.g. bloc2/test_a2_1_inventaire.py")

    @model_validator(mode="after")
    def _machines_fit_the_network(self) -> "Scenario":
        net = self.lab.network
        for pname, profile in self.profiles.items():
            for index, machine in enumerate(profile.machines):
                where = f"profiles.{pname}.machines[{index}].address"
                if machine.address not in net.cidr or machine.address in (net.gateway, net.cidr.broadcast_address):
                    raise ValueError(f"{where}: {machine.address} is not a usable host address of {net.cidr} "
                                     f"(the first one, {net.gateway}, is the lab's gateway)")
        return self

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise InputError(f"no profile '{name}' (this scenario has: {', '.join(self.profiles)})",
                             path=paths.display(scenario_file(self.id)), field="profiles")
        return self.profiles[name]

    def expect(self, key: str):
        """A value the brief fixes, for a check; a missing one is the scenario author's error, said plainly."""
        if key not in self.expected:
            raise InputError(f"no '{key}' under expected: (a check of this scenario needs it)",
                             path=paths.display(scenario_file(self.id)), field="expected")
        return self.expected[key]

    def secrets(self) -> dict[str, str]:
        """Every secret of the scenario by reference name: what inventories point at and reports redact."""
        found = {"domain_admin_password": self.lab.domain.admin_password.get_secret_value()}
        if self.lab.zabbix:
            found["zabbix_admin_password"] = self.lab.zabbix.admin_password.get_secret_value()
        for user in self.seed.users:
            found[f"user_password:{user.username}"] = user.password.get_secret_value()
        for username, password in self.lab.passwords.items():
            found[f"user_password:{username}"] = password.get_secret_value()
        for name, value in self.lab.secrets.items():
            found[name] = value.get_secret_value()
        return found


def known_roles() -> list[str]:
    return sorted(p.parent.name for p in paths.roles_dir().glob("*/role.yaml"))


def scenario_file(scenario_id: str) -> Path:
    return paths.scenarios_dir() / f"{scenario_id}.yaml"


def scenario_ids() -> list[str]:
    return sorted(p.stem for p in paths.scenarios_dir().glob("*.yaml"))


def load(scenario_id: str) -> Scenario:
    path = scenario_file(scenario_id)
    if not re.match(SCENARIO_ID, scenario_id) or not path.is_file():
        known = ", ".join(scenario_ids()) or "none"
        raise InputError(f"unknown scenario '{scenario_id}' (known: {known})")
    return load_file(path)


def load_file(path: Path) -> Scenario:
    shown = paths.display(path)
    raw = read_yaml(path, shown)
    if not isinstance(raw, dict):
        raise InputError("expected a mapping of scenario fields at the top level", path=shown)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        message, field = _first_error(exc)
        raise InputError(message, path=shown, field=field) from None
    except (RecursionError, ValueError, TypeError):
        raise InputError("not a scenario labgrader can read", path=shown) from None
    if scenario.id != path.stem:
        raise InputError(f"'{scenario.id}' does not match the file name '{path.stem}'", path=shown, field="id")
    _check_steps(scenario, shown)
    _check_modules(scenario, shown)
    for index, name in enumerate(scenario.grading.secrets):
        if name not in scenario.secrets():
            raise InputError(f"unknown secret '{name}' (known: {', '.join(scenario.secrets())})", path=shown,
                             field=f"grading.secrets[{index}]")
    roles = known_roles()
    for pname, profile in scenario.profiles.items():
        for index, machine in enumerate(profile.machines):
            if machine.role not in roles:
                raise InputError(f"unknown role '{machine.role}' (known: {', '.join(roles)})", path=shown,
                                 field=f"profiles.{pname}.machines[{index}].role")
    return scenario


def scenario_dir(scenario_id: str) -> Path:
    """Where a scenario keeps its scripts (setup/, solution/)."""
    return paths.scenarios_dir() / scenario_id


def step_script(scenario_id: str, step: Step) -> Path:
    """A step's script: the scenario's own (scenarios/<id>/…) or a role's shared one (labs/…)."""
    if step.script.startswith("labs/"):
        return paths.project_root() / step.script
    return scenario_dir(scenario_id) / step.script


def _check_modules(scenario: Scenario, shown: str) -> None:
    bloc, number = scenario.activity.removeprefix("A").split(".")
    for index, module in enumerate(scenario.checks):
        if not re.match(rf"^bloc{bloc}/test_a{bloc}_{number}_[a-z0-9_]+\.py$", module) or \
                not (paths.checks_dir() / module).is_file():
            raise InputError(f"'{module}' is not a check module of activity {scenario.activity} under checks/",
                             path=shown, field=f"checks[{index}]")


def _check_steps(scenario: Scenario, shown: str) -> None:
    secrets = scenario.secrets()
    for kind in ("setup", "solution"):
        for index, step in enumerate(getattr(scenario, kind)):
            field = f"{kind}[{index}]"
            for pname, profile in scenario.profiles.items():
                if step.machine not in {m.name for m in profile.machines}:
                    raise InputError(f"no machine '{step.machine}' in profile {pname}", path=shown,
                                     field=f"{field}.machine")
            if not step_script(scenario.id, step).is_file():
                raise InputError(f"no file {paths.display(step_script(scenario.id, step))}", path=shown,
                                 field=f"{field}.script")
            for variable, name in step.secrets.items():
                if name not in secrets:
                    raise InputError(f"unknown secret '{name}' (known: {', '.join(secrets)})", path=shown,
                                     field=f"{field}.secrets.{variable}")


def _first_error(exc: ValidationError) -> tuple[str, str]:
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in first["loc"]).replace(".[", "[")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif "input" in first and first["type"].endswith("_type"):
        message += f" (got {type(first['input']).__name__})"
    # A model-level rule reports its own sub-field in front of the message ("users[0].ou: …").
    sub = re.match(r"^([\w\[\].]+): (.*)$", message)
    if sub:
        field = f"{field}.{sub.group(1)}" if field else sub.group(1)
        message = sub.group(2)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return message + more, field

"""A lab's lifecycle, whatever runs its machines: up, status, halt, down, ssh.

`up` turns a scenario profile into a plan (plan.json, also read by the Vagrantfile), makes the lab's network
namespace, has the profile's provider bring up every machine in parallel, waits until each role answers, and
writes the inventory that checks use. A failed first `up` removes what it built; logs are kept.
Everything that depends on the machines' technology is asked of `lab.provider` (see `providers/`).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from . import lab_inventory, netns, paths, roles, uploads as uploads_mod
from . import steps as steps_mod
from .errors import HostSetupError, InputError, LabError
from .providers import ABSENT, RUNNING, SET_UP, Provider, provider_for, require_commands
from .scenario import Scenario
from .scenario import load as load_scenario, step_script

Report = Callable[[str], None]
READY_TIMEOUT_S = 180


@dataclass(frozen=True)
class RunningLab:
    """A lab built here from a scenario's profile: its namespace, containers, state and logs, all named after
    the instance (`up SCENARIO --name NAME`; by default the scenario's id), so labs of one scenario coexist."""
    scenario: Scenario
    profile: str
    name: str = ""
    provider_name: str = ""  # `up --provider`: another engine for the profile's containers (e.g. an Incus cluster)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.scenario.id)

    @property
    def id(self) -> str:
        """The instance's name: what every per-lab resource is keyed on."""
        return self.name

    @property
    def cli(self) -> str:
        """How the user names this lab on the command line: `SCENARIO [--name NAME]`."""
        return self.scenario.id + (f" --name {self.name}" if self.name != self.scenario.id else "")

    @property
    def namespace(self) -> str:
        return f"lg-{self.id}"[:64]

    @property
    def dir(self) -> Path:
        return paths.lab_dir(self.id)

    @property
    def log_dir(self) -> Path:
        return paths.state_dir() / "logs" / self.id

    @property
    def machines(self):
        return self.scenario.profile(self.profile).machines

    @property
    def provider(self) -> Provider:
        """What runs this lab's machines: `up --provider`, else its profile's."""
        return provider_for(self.provider_name or self.scenario.profile(self.profile).provider)

    def container(self, machine: str) -> str:
        """The machine's name for its provider (container, VM, instance): unique across labs on one host."""
        return f"lg-{self.id}-{machine}"

    def mac(self, machine: str) -> str:
        digest = hashlib.sha256(f"{self.id}/{machine}".encode()).hexdigest()
        return "02:" + ":".join(digest[i:i + 2] for i in range(0, 10, 2))

    def network(self) -> netns.LabNetwork:
        dcs = [m for m in self.machines if m.role == "samba-dc"]
        zones = ((self.scenario.lab.domain.name, str(dcs[0].address)),) if dcs else ()
        return netns.LabNetwork(
            namespace=self.namespace, cidr=self.scenario.lab.network.cidr, state_dir=self.dir,
            reservations=tuple((self.mac(m.name), str(m.address), m.name) for m in self.machines),
            forward_zones=zones)


INSTANCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


# Providers that can run a profile made for another, because they run the same machines: an Incus cluster runs
# the embedded profile's system containers from the same box.
STANDS_IN_FOR = {"incus": ("lxc",)}


def open_lab(scenario_id: str, profile: str | None = None, name: str | None = None,
             provider: str | None = None) -> RunningLab:
    scenario = load_scenario(scenario_id)
    name = name or scenario_id
    if not INSTANCE_NAME.match(name):
        raise InputError(f"'{name}' is not a lab name (lower-case letters, digits and -, at most 40)", field="--name")
    planned = _plan(name) or {}
    if planned and planned.get("scenario") != scenario_id:
        raise InputError(f"the lab {name} runs scenario {planned.get('scenario')}, not {scenario_id}", field="--name")
    chosen = profile or planned.get("profile") or "embedded"
    own = scenario.profile(chosen).provider  # an unknown profile is an input error here, before any provider
    if provider and planned.get("provider") and provider != planned["provider"]:
        raise InputError(f"the lab {name} runs on {planned['provider']}: `labgrader down` it before building it on "
                         f"{provider}", field="--provider")
    provider = provider or planned.get("provider") or own
    if provider != own and own not in STANDS_IN_FOR.get(provider, ()):
        raise InputError(f"the profile {chosen} of {scenario_id} runs on {own}; {provider} cannot run it",
                         field="--provider")
    return RunningLab(scenario, chosen, name, provider if provider != own else "")


def _plan(name: str) -> dict | None:
    plan_file = paths.lab_dir(name) / "plan.json"
    try:
        return json.loads(plan_file.read_text()) if plan_file.is_file() else None
    except (OSError, ValueError):
        return None


def instances() -> list[dict]:
    """Every lab planned here: its name, scenario and profile (`labgrader list --running`)."""
    found = []
    for plan_file in sorted((paths.state_dir() / "labs").glob("*/plan.json")):
        planned = _plan(plan_file.parent.name) or {}
        found.append({"name": plan_file.parent.name, "scenario": planned.get("scenario", "?"),
                      "profile": planned.get("profile", "?")})
    return found


# What the lab's own network needs, whatever the provider: command -> the Debian package that brings it.
NETWORK_COMMANDS = {"dnsmasq": "dnsmasq-base", "ip": "iproute2"}


def check_host(lab: RunningLab) -> None:
    """The provider first (a profile naming a provider this host lacks stops here), then the lab's network.
    Before anything of the lab is touched: a host that cannot run it is told so and keeps nothing of it."""
    lab.provider.check_host()
    check_network_host()


def check_network_host() -> None:
    if os.geteuid() != 0:
        raise HostSetupError("a lab needs root (network namespaces)")
    require_commands(NETWORK_COMMANDS, SET_UP)


@contextmanager
def locked(lab: RunningLab, *, shared: bool = False) -> Iterator[None]:
    """One lifecycle operation per lab at a time: two `up`s racing would fight over the same containers.
    Verbs that only use a running lab (check, ssh) share the lock: they may run together, never during a
    lifecycle operation (up, solve, halt, down)."""
    lab.dir.parent.mkdir(parents=True, exist_ok=True)
    with (lab.dir.parent / f"{lab.id}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another labgrader command is working on the lab {lab.id}; wait for it") from None
        yield


# --- what has been done to the lab, recorded rather than guessed --------------------------------------------

STATE_FILE = "state.json"


def lab_state(lab: RunningLab) -> dict:
    """{"created", "starting_state", "solved"}: what `up` and `solve` completed on this lab."""
    path = lab.dir / STATE_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def half_built(state: dict, has_inventory: bool) -> bool:
    """Machines exist but the starting state was never applied (an `up` killed half-way), or nothing says it
    was (no record and no inventory): such a lab must not be presented as ready."""
    if state:
        return not state.get("starting_state")
    return not has_inventory


def record_state(lab: RunningLab, **done: bool) -> None:
    lab.dir.mkdir(parents=True, exist_ok=True)
    paths.write_private(lab.dir / STATE_FILE, json.dumps({**lab_state(lab), **done}))


# --- the plan: the lab's record, and what the Vagrantfile reads ---------------------------------------------

def lab_env(lab: RunningLab) -> dict[str, str]:
    """What every provisioning and solution script is told about the lab (no secret here)."""
    scenario, domain = lab.scenario, lab.scenario.lab.domain
    by_role = {}
    for m in reversed(lab.machines):
        by_role[m.role] = str(m.address)
    hosts = ";".join(f"{m.address} {m.name}.{domain.name} {m.name}" for m in lab.machines)
    return {"LAB_SCENARIO": lab.scenario.id, "LAB_NAME": lab.name, "LAB_NETWORK": str(scenario.lab.network.cidr),
            "LAB_GATEWAY": str(scenario.lab.network.gateway), "LAB_REALM": domain.realm, "LAB_DOMAIN": domain.name,
            "LAB_NETBIOS": domain.netbios, "LAB_BASE_DN": domain.base_dn, "LAB_HOSTS": hosts,
            "LAB_DC_ADDRESS": by_role.get("samba-dc", ""), "LAB_ZABBIX_ADDRESS": by_role.get("zabbix", ""),
            **{f"LAB_ADDRESS_{m.name.upper().replace('-', '_')}": str(m.address) for m in lab.machines}}


def machine_env(machine) -> dict[str, str]:
    data = roles.load(machine.role).data_filesystem
    return {"LAB_MACHINE": machine.name, "LAB_ROLE": machine.role, "LAB_ADDRESS": str(machine.address),
            **({"LAB_DATA_FS": data.path, "LAB_DATA_FS_SIZE_MB": str(data.size_mb)} if data else {})}


def plan(lab: RunningLab, box_name: str, uploads: dict[str, list[dict]] | None = None) -> tuple[dict, dict]:
    """(plan, provisioning secrets by machine): what Vagrant needs, secrets kept in a separate root-only file.
    `uploads`: files each machine receives before its scripts run (uploads.for_machines)."""
    scenario = lab.scenario
    env = lab_env(lab)
    values = scenario.secrets()
    seed = scenario.seed.model_dump(mode="json")
    for user, model in zip(seed["users"], scenario.seed.users):
        user["password"] = model.password.get_secret_value()
    machines, secrets = [], {}
    for m in lab.machines:
        role = roles.load(m.role)
        # Vagrant knows each machine by its container's name: unique across labs, so two labs can run at once.
        machines.append({"name": m.name, "vagrant_name": lab.container(m.name), "role": m.role,
                         "address": str(m.address), "mac": lab.mac(m.name), "container": lab.container(m.name),
                         "memory_mb": m.memory_mb, "scripts": role.script_paths(), "env": machine_env(m),
                         "files": (uploads or {}).get(m.name, [])})
        secrets[m.name] = {var: values[ref] for var, ref in role.provision_secrets.items()}
        if role.provision_seed:
            secrets[m.name]["LAB_SEED_JSON"] = json.dumps(seed, ensure_ascii=False)
    document = {"scenario": lab.scenario.id, "name": lab.name, "profile": lab.profile, "provider": lab.provider.name,
                "box": box_name, "bridge": netns.BRIDGE, "namespace": lab.namespace, "env": env, "machines": machines}
    return document, secrets


def run_scenario_steps(lab: RunningLab, steps, log_name: str, report: Report) -> None:
    """A scenario's setup or solution steps on the running lab, each with the lab's environment."""
    machines = {m.name: m for m in lab.machines}
    env = lab_env(lab)
    steps_mod.run_steps(namespace=lab.namespace, inventory_path=lab.dir / "inventory.yml", steps=steps,
                        script_of=lambda step: step_script(lab.scenario.id, step), env_for=lambda step: {**env, **machine_env(machines[step.machine])},
                        secrets=lab.scenario.secrets(), log=lab.log_dir / log_name, report=report)


# --- lifecycle ------------------------------------------------------------------------------------------------

def machine_states(lab: RunningLab) -> dict[str, str]:
    """Machine name -> RUNNING / STOPPED / ABSENT (or a provider's transitional state)."""
    return lab.provider.states(lab)


def up(lab: RunningLab, report: Report, archives: dict[str, Path] | None = None) -> bool:
    """Bring the lab up; True if anything changed. Idempotent on a running lab. `archives`: role → the file
    of software the user brings (GLPI), else the role's environment variable names it."""
    # Software the user must bring is found and checked first (a lab without an inventory is to be provisioned):
    # without it, nothing of the lab is built.
    provisioning = not (lab.dir / "inventory.yml").is_file()
    uploads = uploads_mod.for_machines(lab.scenario.id, lab.machines, archives or {}, with_archives=provisioning)
    check_host(lab)
    with locked(lab):
        states = machine_states(lab)
        fresh = all(state == ABSENT for state in states.values())
        if not fresh and half_built(lab_state(lab), (lab.dir / "inventory.yml").is_file()):
            # An `up` was interrupted before the starting state was applied: starting these machines would
            # present a lab whose criteria may already be met. Build it again from nothing.
            report(f"lab {lab.id} was left half-built by an interrupted `up`: rebuilding it")
            _down(lab, lambda _: None)
            fresh = True
        elif ((lab.dir / "inventory.yml").is_file() and all(s == RUNNING for s in states.values())
              and netns.exists(lab.namespace)):  # machines elsewhere (a cluster) outlive this host's namespace
            report(f"lab {lab.id} is already up: nothing to do")
            return False
        if fresh and not provisioning:  # a half-built lab rebuilt from nothing
            uploads = uploads_mod.for_machines(lab.scenario.id, lab.machines, archives or {}, with_archives=True)
        try:
            _up(lab, report, fresh, uploads)
        except BaseException:
            if fresh:
                report(f"up failed: removing what it built (logs kept in {paths.display(lab.log_dir)})")
                _down(lab, lambda _: None)
            raise
        return True


def _up(lab: RunningLab, report: Report, fresh: bool, uploads: dict[str, list[dict]]) -> None:
    started = time.monotonic()
    if fresh:
        record_state(lab, created=False, starting_state=False, solved=False)
    for m in lab.machines:  # a profile made for this project's tests says so, lest a candidate work on it
        if roles.load(m.role).tests_only:
            report(f"warning: {m.name} (role {m.role}) is not for candidates: {roles.load(m.role).description}")
    image = lab.provider.ensure_image(lab, report)
    document, secrets = plan(lab, image, uploads)
    paths.write_private(lab.dir / "plan.json", json.dumps(document, indent=1, ensure_ascii=False))
    paths.write_private(lab.dir / "secrets.json", json.dumps(secrets, indent=1, ensure_ascii=False))
    lab_inventory.write_secrets(lab.dir / lab_inventory.SECRETS_FILE, lab.scenario.secrets())
    (paths.state_dir() / "current").write_text(lab.id + "\n")
    netns.ensure(lab.network())
    report(f"network {lab.namespace}: bridge {netns.BRIDGE} at {lab.scenario.lab.network.gateway}, DHCP and DNS")
    lab.provider.attach_network(lab, report)
    verb = "creating and provisioning" if fresh else "starting"
    report(f"machines: {verb} {', '.join(m.name for m in lab.machines)} with {lab.provider.name}, in parallel "
           f"(logs: {paths.display(lab.log_dir)})")
    _on_every_machine(lab, lambda name: lab.provider.up(lab, name, report), report, "up")
    wait_ready(lab, report)
    path = lab_inventory.write_for_lab(lab)
    record_state(lab, created=True)
    if fresh and lab.scenario.setup:
        count = len(lab.scenario.setup)
        report(f"starting state: {count} step{'s' if count > 1 else ''} of the scenario")
        run_scenario_steps(lab, lab.scenario.setup, "setup.log", report)
    record_state(lab, starting_state=True)
    report(f"lab {lab.id} ready in {time.monotonic() - started:.1f} s; inventory: {paths.display(path)}")


def _on_every_machine(lab: RunningLab, work: Callable[[str], None], report: Report, done: str) -> None:
    """`work(machine name)` for every machine at once: a provider is slow per machine (unpacking, booting,
    provisioning), so a lab takes as long as its slowest machine. A failure is raised once all have finished."""
    def timed(name: str) -> float:
        began = time.monotonic()
        work(name)
        return time.monotonic() - began

    with ThreadPoolExecutor(max_workers=len(lab.machines)) as pool:
        futures = {m.name: pool.submit(timed, m.name) for m in lab.machines}
        for name, future in futures.items():
            report(f"  {name}: {done} in {future.result():.1f} s")


def wait_ready(lab: RunningLab, report: Report, timeout: float = READY_TIMEOUT_S) -> None:
    probes = [(m, probe) for m in lab.machines for probe in roles.load(m.role).ready]

    def probe_all() -> None:
        deadline = time.monotonic() + timeout
        for machine, probe in probes:
            if not port_opens(str(machine.address), probe.tcp, deadline):
                raise LabError(f"{machine.name}: {probe.what} (port {probe.tcp}) did not answer within "
                               f"{timeout:.0f} s (logs: {paths.display(lab.log_dir)})")
            report(f"  {machine.name}: {probe.what} answers")

    netns.run_inside(lab.namespace, probe_all)


def port_opens(address: str, port: int, deadline: float) -> bool:
    """Whether address:port accepts a connection before `deadline` (time.monotonic()), asked every 0.25 s.
    Called inside the lab's namespace, once for the whole wait."""
    while not _tcp_open(address, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def _tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def status(lab: RunningLab) -> list[dict]:
    states = machine_states(lab)
    rows = []
    probes = {m.name: roles.load(m.role).ready for m in lab.machines}

    def answers(m) -> str:
        if states[m.name] != RUNNING:
            return "-"
        return ", ".join(f"{p.what} {'yes' if _tcp_open(str(m.address), p.tcp) else 'no'}" for p in probes[m.name])

    reach = (netns.run_inside(lab.namespace, lambda: {m.name: answers(m) for m in lab.machines})
             if netns.exists(lab.namespace) else {m.name: "-" for m in lab.machines})
    for m in lab.machines:
        rows.append({"machine": m.name, "role": m.role, "address": str(m.address), "state": states[m.name],
                     "answers": reach[m.name]})
    return rows


def halt(lab: RunningLab, report: Report) -> None:
    check_host(lab)
    with locked(lab):
        if not (lab.dir / "plan.json").is_file():
            report(f"lab {lab.id} is not up")
            return
        _on_every_machine(lab, lambda name: lab.provider.halt(lab, name), report, "halted")
        report(f"lab {lab.id} halted; `labgrader up {lab.cli}` starts it again")


def down(lab: RunningLab, report: Report) -> None:
    check_host(lab)
    with locked(lab):
        _down(lab, report)


def _down(lab: RunningLab, report: Report) -> None:
    """Remove every trace of the lab: machines, namespace (bridge, dnsmasq), state. Idempotent."""
    lab.provider.destroy(lab, report)
    netns.destroy(lab.network())
    shutil.rmtree(lab.dir, ignore_errors=True)
    current = paths.state_dir() / "current"
    if current.is_file() and current.read_text().strip() == lab.id:
        current.unlink()
    report(f"lab {lab.id} is down")


def ssh_argv(lab: RunningLab, machine: str, command: list[str]) -> list[str]:
    """The command line that reaches a machine the provider's way, its host key pinned where it uses SSH."""
    names = [m.name for m in lab.machines]
    if machine not in names:
        raise InputError(f"no machine '{machine}' in {lab.id} (machines: {', '.join(names)})", field="MACHINE")
    if not netns.exists(lab.namespace):
        raise InputError(f"lab {lab.id} is not up: run `labgrader up {lab.cli}` first")
    if not (lab.dir / "ssh_known_hosts").is_file() and (lab.dir / "inventory.yml").is_file():
        lab_inventory.write_known_hosts(lab, lab.dir / "inventory.yml")
    return lab.provider.ssh_argv(lab, machine, command)

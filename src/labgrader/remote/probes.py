"""The grader's probes of a supervision: it brings a real condition about on a machine (a data file system
filled past the brief's threshold, a backup run that fails), waits, bounded, for the supervision to raise a
problem on that host, puts the machine back, and waits for the problem to clear by itself.

What a probe proves that reading the configuration cannot: the values come from that machine (the grader changed
them there), the threshold and the trigger work, the alert opens and closes within the brief's time.

Every change is undone in a `finally`, and leaves a mark on the machine before it is made, so a run killed
outright is undone by the next run before it probes anything. A change that cannot be made, or undone, is an
error (`ProbeFailed`), never a verdict. Pure logic first (unit-tested without a lab), then the transport."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from .base import RemoteError
from .ssh import SshHost
from .zabbix import Supervision

FILLER = ".labgrader-sonde"  # the file that fills a data file system, at its root
BACKUP_MARK = "/var/lib/labgrader-sonde-sauvegarde"  # "<mode> <path>" of a repository the grader closed
PROBE_LOG = "/var/lib/labgrader-sondes"  # the grader's past probes of this machine: their alerts are not flapping
POLL_S = 5
SAFETY_NET_S = "15min"  # longer than any probe (its check's deadline is 10 min)
MIB = 1 << 20
# Items that say how busy a machine is, not how its storage or its jobs are: a problem they raise during a
# probe is a coincidence (containers see the host's CPU and load), never the probe's effect.
RESOURCE_KEYS = ("system.cpu.", "system.load", "vm.memory.", "system.swap.", "net.if.", "system.uptime",
                 "agent.ping", "icmpping", "zabbix[")


class ProbeFailed(RemoteError):
    """The grader could not bring the condition about, or could not undo it: no verdict on the supervision."""


# --- pure logic --------------------------------------------------------------------------------------------

def filler_bytes(size: int, used: int, percent: float) -> int:
    """Bytes to add so that `used` reaches `percent` of `size`, rounded up to a whole MiB."""
    missing = math.ceil(size * percent / 100) - used
    return 0 if missing <= 0 else math.ceil(missing / MIB) * MIB


def parse_df(out: str) -> tuple[int, int]:
    """(size, used) in bytes from `df -B1 --output=size,used PATH`."""
    lines = out.strip().splitlines()
    if len(lines) < 2 or len(lines[-1].split()) != 2:
        raise ValueError(f"unexpected df output: {out.strip()[:200]!r}")
    size, used = (int(field) for field in lines[-1].split())
    return size, used


def key_path(key: str) -> str:
    """The first parameter of an item key (`vfs.fs.size[/srv/data,pused]` → `/srv/data`), unquoted."""
    if "[" not in key:
        return ""
    return key.split("[", 1)[1].rstrip("]").split(",")[0].strip().strip('"')


def reads_filesystem(keys: list[str], path: str) -> bool:
    """A trigger whose items measure this file system: an item whose first parameter is its mount point
    (vfs.fs.size, the templates' vfs.fs.dependent.size, or the candidate's own UserParameter)."""
    return any(key_path(key).rstrip("/") == path.rstrip("/") for key in keys)


def reads_more_than_resources(keys: list[str]) -> bool:
    """A trigger that follows something other than CPU, memory, network or storage (a job, a file, a log)."""
    return any(not key.startswith(RESOURCE_KEYS + ("vfs.fs.",)) for key in keys)


@dataclass(frozen=True)
class Problem:
    triggerid: str
    name: str
    suppressed: bool
    keys: tuple[str, ...]
    expression: str = ""

    def shown(self) -> str:
        return f"« {self.name} »" + (" (masqué par une maintenance)" if self.suppressed else "")


def raised(before: dict[str, Problem], now: dict[str, Problem], attributed: Callable[[Problem], bool]) -> list[Problem]:
    """Problems open now that were not before the probe, and that read what the probe changed."""
    return [p for tid, p in now.items() if tid not in before and attributed(p)]


# --- the supervision's side --------------------------------------------------------------------------------

def open_problems(supervision: Supervision, hostid: str) -> dict[str, Problem]:
    """The host's open problems by trigger, with the keys of the items each trigger reads."""
    problems = supervision.problems(hostid)
    if not problems:
        return {}
    triggers = {t["triggerid"]: t for t in supervision.call(
        "trigger.get", triggerids=sorted({p["objectid"] for p in problems}), output=["triggerid", "expression"],
        expandExpression=True, selectItems=["key_"])}
    return {p["objectid"]: Problem(p["objectid"], p["name"], p.get("suppressed") == "1",
                                   tuple(i["key_"] for i in triggers.get(p["objectid"], {}).get("items", ())),
                                   triggers.get(p["objectid"], {}).get("expression", ""))
            for p in problems}


def recently_open(supervision: Supervision, triggerids: list[str], since: float, until: float,
                  probing: list[tuple[float, float]]) -> set[str]:
    """Triggers that opened a problem between `since` and `until` (before the probe), outside the grader's own
    earlier probes (`probing`): a trigger that flaps on its own, or that the grader's connections set off, proves
    nothing when it opens again during the probe."""
    if not triggerids:
        return set()
    events = supervision.call("event.get", source=0, object=0, objectids=triggerids, value=1,
                              time_from=int(since), time_till=int(until), output=["objectid", "clock"])
    return {e["objectid"] for e in events if not any(start <= int(e["clock"]) <= end for start, end in probing)}


def parse_probe_windows(text: str) -> list[tuple[float, float]]:
    windows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and all(f.isdigit() for f in fields):
            windows.append((float(fields[0]), float(fields[1])))
    return windows


def settled(supervision: Supervision, hostid: str, attributed: Callable[[Problem], bool],
            bound_s: float) -> dict[str, Problem]:
    """The host's open problems once those the probe would count have closed (a problem still open from before,
    say a failed run the grader's good run has just replaced, would hide the probe's alert), or once `bound_s`
    has passed: what was open then is the probe's baseline."""
    found: dict[str, Problem] = {}

    def quiet() -> bool:
        found.clear()
        found.update(open_problems(supervision, hostid))
        return not any(attributed(p) for p in found.values())

    wait_until(quiet, bound_s)
    return found


def wait_until(condition: Callable[[], bool], bound_s: float) -> float | None:
    """Poll `condition` until it holds (seconds taken) or `bound_s` passes (None)."""
    began = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - began
        if time.monotonic() - began + POLL_S > bound_s:
            return None
        time.sleep(POLL_S)


# --- the machine's side ------------------------------------------------------------------------------------

def _must(host: SshHost, what: str, command: str, *args: object) -> str:
    result = host.run(command, *args)
    if not result.ok:
        raise ProbeFailed(f"{host.name} : le correcteur n'a pas pu {what} (code {result.exit_status}) : "
                          f"{result.stderr.strip()[-200:]}")
    return result.stdout


def usage(host: SshHost, path: str) -> tuple[int, int]:
    out = _must(host, f"lire l'occupation de {path}", "/usr/bin/df -B1 --output=size,used %s", path)
    try:
        return parse_df(out)
    except ValueError:
        raise ProbeFailed(f"{host.name} : réponse inattendue de df pour {path}") from None


def fill(host: SshHost, path: str, percent: float, threshold: float) -> str:
    """Fill `path` to `percent` with one file; the file's path. A file system already at the brief's threshold
    cannot be probed (its alert would be open before the probe): an error, with its figures. A removal is
    scheduled on the machine first, in case the grader is killed before it removes the file itself."""
    filler = f"{path.rstrip('/')}/{FILLER}-{int(time.time())}"  # its own name: an older run's safety net spares it
    size, used = usage(host, path)
    if 100 * used / size >= threshold - 1:
        raise ProbeFailed(f"{host.name} : {path} est déjà rempli à {100 * used / size:.0f} % (seuil du brief : "
                          f"{threshold:.0f} %) : le correcteur ne peut pas y provoquer le dépassement.")
    _safety_net(host, "/usr/bin/rm", "-f", filler)
    _must(host, f"remplir {path}", "/usr/bin/fallocate -l %s %s", filler_bytes(size, used, percent), filler)
    return filler


def _safety_net(host: SshHost, *command: str) -> None:
    """Schedule the undo on the machine itself (a transient systemd timer): a grader killed, or cut off by its
    deadline in the middle of its own undo, leaves the lab as it found it all the same. Harmless once the grader
    has undone its change."""
    _must(host, "programmer l'annulation de secours de la sonde",
          "/usr/bin/systemd-run --quiet --collect --on-active=%s " + " ".join(["%s"] * len(command)),
          SAFETY_NET_S, *command)


def unfill(host: SshHost, filler: str) -> None:
    _must(host, f"retirer son fichier de remplissage {filler}", "/usr/bin/rm -f %s", filler)


def remove_leftover_filler(host: SshHost, path: str) -> None:
    """A run killed between fill and unfill left its file: remove it before probing again."""
    _must(host, f"retirer un fichier de remplissage resté dans {path}", "/usr/bin/find %s -maxdepth 1 -name %s "
          "-delete", path, f"{FILLER}-*")


def close_repository(nas: SshHost, path: str) -> str:
    """Make the NAS refuse the backup account its repository directory (a real cause of a failed run); the mode
    to put back. The mark is written first, so a killed run is undone by the next one."""
    mode = _must(nas, f"lire les droits de {path}", "/usr/bin/stat -c %s %s", "%a", path).strip()
    _must(nas, "noter la sonde en cours", "/bin/sh -c %s", f"echo {mode} {path} > {BACKUP_MARK}")
    _safety_net(nas, "/usr/bin/chmod", mode, path)
    _must(nas, f"fermer {path}", "/usr/bin/chmod 000 %s", path)
    return mode


def reopen_repository(nas: SshHost, path: str, mode: str) -> None:
    _must(nas, f"rendre ses droits ({mode}) à {path}", "/usr/bin/chmod %s %s", mode, path)
    _must(nas, "effacer la marque de la sonde", "/usr/bin/rm -f %s", BACKUP_MARK)


def undo_leftover_closing(nas: SshHost) -> None:
    mark = nas.run("/usr/bin/cat %s", BACKUP_MARK)
    if mark.ok and len(mark.stdout.split()) == 2:
        mode, path = mark.stdout.split()
        reopen_repository(nas, path, mode)


def probe_windows(host: SshHost) -> list[tuple[float, float]]:
    """When the grader probed this machine before (epoch seconds, start and end with the alert's bound)."""
    found = host.run("/usr/bin/cat %s", PROBE_LOG)
    return parse_probe_windows(found.stdout) if found.ok else []


def record_probe_window(host: SshHost, start: float, end: float) -> None:
    _must(host, "noter la fenêtre de sa sonde", "/bin/sh -c %s",
          f"echo {int(start)} {int(end)} >> {PROBE_LOG} && tail -n 20 {PROBE_LOG} > {PROBE_LOG}.new && "
          f"mv {PROBE_LOG}.new {PROBE_LOG}")


def run_job(host: SshHost, service: str, *, timeout: float) -> str:
    """Start a oneshot service as its timer would and wait for it; its Result (success, exit-code…)."""
    host.run("/usr/bin/systemctl start %s", service, timeout=timeout)
    return _must(host, f"lire le résultat de {service}", "/usr/bin/systemctl show -p Result --value %s",
                 service).strip()

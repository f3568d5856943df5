"""Where things live: the project tree (scenarios, labs, Vagrantfile), per-lab state, and the box cache."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import HostSetupError


def project_root() -> Path:
    """The checkout holding scenarios/, labs/ and the Vagrantfile (LABGRADER_ROOT overrides)."""
    candidates = [os.environ.get("LABGRADER_ROOT"), Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in filter(None, candidates):
        root = Path(candidate)
        if (root / "Vagrantfile").is_file() and (root / "scenarios").is_dir():
            return root
    raise HostSetupError("cannot find the labgrader project tree (Vagrantfile, scenarios/); set LABGRADER_ROOT")


def scenarios_dir() -> Path:
    return project_root() / "scenarios"


def roles_dir() -> Path:
    return project_root() / "labs" / "roles"


def checks_dir() -> Path:
    return project_root() / "checks"


def state_dir() -> Path:
    """Per-machine lab state: `.labgrader/` in the project tree unless LABGRADER_STATE says otherwise."""
    return Path(os.environ.get("LABGRADER_STATE") or project_root() / ".labgrader")


def lab_dir(scenario_id: str) -> Path:
    return state_dir() / "labs" / scenario_id


def box_cache_dir() -> Path:
    """Boxes are expensive: keep them outside the checkout so fresh clones (CI) reuse them."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labgrader" / "boxes"
    return Path(os.environ.get("LABGRADER_BOX_CACHE") or default)


def display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def sha256_file(path: Path, head: bytes = b"") -> str:
    """The SHA-256 of `head` then the file, read in blocks (archives of hundreds of MiB)."""
    digest = hashlib.sha256(head)
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_private(path: Path, text: str) -> None:
    """Write a file only root can read (secrets, plans holding them): created 0600, never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Never through a symlink planted in its place; an existing file gets 0600 too, not its old mode.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)

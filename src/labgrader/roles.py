"""Machine roles are data: `labs/roles/<role>/role.yaml` says which scripts provision the role, which secrets
they receive, how checks reach it (transports) and when it is ready."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import paths
from .errors import InputError
from .yamlfile import read_yaml


class ReadyProbe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tcp: int = Field(ge=1, le=65535)
    what: str


class DataFilesystem(BaseModel):
    """The role's data on a small file system of its own (common.sh mounts it first): a runaway log or the
    grader's supervision probe fills it, never the host's disk."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(pattern=r"^/srv/[a-z0-9][a-z0-9-]*$")
    size_mb: int = Field(ge=8, le=256)


# Where uploads land on a machine: a directory the box's `vagrant` user may write (Vagrant uploads as that user);
# the role's script moves them into place as root.
UPLOAD_DIR = "/var/tmp/labgrader"


class UploadedFile(BaseModel):
    """A file or directory of the project uploaded before the role's scripts run (e.g. a test double)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(pattern=r"^[a-z0-9_][a-z0-9_./-]*$")
    destination: str = Field(pattern=rf"^{UPLOAD_DIR}/[A-Za-z0-9_.-]+$")


class Archive(BaseModel):
    """Software the role needs that labgrader may not ship or download (GLPI's release archive): the user gives
    the file (`up --archive ROLE=FILE` or an environment variable); its SHA-256 must be a pinned one."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    what: str
    env: str = Field(pattern=r"^LABGRADER_[A-Z0-9_]+$")
    where: str  # where a user gets it
    destination: str = Field(pattern=rf"^{UPLOAD_DIR}/[A-Za-z0-9_.-]+$")
    # Release file name -> SHA-256 of the releases known to work (a trainer adds one after checking it).
    sha256: dict[str, str] = {}


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    description: str
    scripts: tuple[str, ...]
    # Scripts under labs/roles/ that several roles share, run after the role's own.
    shared_scripts: tuple[str, ...] = ()
    provision_secrets: dict[str, str] = {}
    provision_seed: bool = False
    transports: dict[str, dict[str, Any]]
    # Where the role's TLS services keep their certificate: `up` pins its fingerprint in the inventory.
    tls_certificate: str | None = None
    ready: tuple[ReadyProbe, ...] = ()
    data_filesystem: DataFilesystem | None = None
    files: tuple[UploadedFile, ...] = ()
    archive: Archive | None = None
    # A stand-in this project's tests use where the real thing cannot run (the GLPI double): `up` says so.
    tests_only: bool = False

    @property
    def directory(self) -> Path:
        return paths.roles_dir() / self.name

    def script_paths(self) -> list[str]:
        """Provisioning scripts relative to the project root, the common one first (the Vagrantfile's view)."""
        root = paths.project_root()
        return [str((paths.roles_dir() / "common.sh").relative_to(root))] + [
            str((self.directory / script).relative_to(root)) for script in self.scripts] + [
            str((paths.roles_dir() / script).relative_to(root)) for script in self.shared_scripts]


@cache
def load(name: str) -> Role:
    path = paths.roles_dir() / name / "role.yaml"
    raw = read_yaml(path, paths.display(path))
    if not isinstance(raw, dict):
        raise InputError("expected a mapping of role fields", path=paths.display(path))
    try:
        role = Role.model_validate({**raw, "name": name})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid role definition: {first['msg']}", path=paths.display(path), field=field) from None
    except (RecursionError, ValueError, TypeError):
        raise InputError("invalid role definition", path=paths.display(path)) from None
    for script in role.scripts:
        if not (role.directory / script).is_file():
            raise InputError(f"script '{script}' does not exist", path=paths.display(path), field="scripts")
    for upload in role.files:
        if ".." in upload.source.split("/") or not (paths.project_root() / upload.source).exists():
            raise InputError(f"file '{upload.source}' is not in the project", path=paths.display(path), field="files")
    for script in role.shared_scripts:
        if "/" in script or not (paths.roles_dir() / script).is_file():
            raise InputError(f"shared script '{script}' is not a script of labs/roles/", path=paths.display(path),
                             field="shared_scripts")
    return role

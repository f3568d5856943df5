"""What a lab uploads to its machines before their roles' scripts run: a role's own files from the project (a test
double), and software the user must bring (GLPI's release archive: not in Debian, and labgrader does not
download it), found from `up --archive ROLE=FILE` or the role's environment variable and checked against the
role's pinned SHA-256 digests before anything of the lab is built."""
from __future__ import annotations

import os
from pathlib import Path

from . import paths, roles
from .errors import InputError

# A digest the user vouches for (published beside the release), for a release the role does not pin yet.
EXTRA_DIGEST_ENV = "{env}_SHA256"


def parse_given(values: list[str] | None) -> dict[str, Path]:
    """`--archive glpi=/srv/glpi-10.0.18.tgz` (repeatable) → {"glpi": Path(...)}."""
    given: dict[str, Path] = {}
    for value in values or ():
        role, sep, file = value.partition("=")
        if not sep or not role or not file:
            raise InputError(f"'{value}' is not ROLE=FILE (e.g. glpi=glpi-10.0.18.tgz)", field="--archive")
        given[role] = Path(file).expanduser()
    return given


def archive_for(role_name: str, given: dict[str, Path], scenario_id: str, machine: str) -> Path:
    """The role's archive, present and pinned, or one line saying how to provide it (exit 2)."""
    archive = roles.load(role_name).archive
    assert archive is not None
    path = given.get(role_name) or (Path(os.environ[archive.env]).expanduser() if os.environ.get(archive.env)
                                    else None)
    if path is None:
        raise InputError(f"the machine {machine} (role {role_name}) needs {archive.what}, which labgrader cannot "
                         f"download: get it from {archive.where} and give it with `--archive {role_name}=FILE` or "
                         f"{archive.env}=FILE", field=scenario_id)
    if not path.is_file():
        raise InputError(f"{path} is not a file", field=f"--archive {role_name} / {archive.env}")
    digest = paths.sha256_file(path)
    vouched = os.environ.get(EXTRA_DIGEST_ENV.format(env=archive.env), "").strip().lower()
    if digest not in archive.sha256.values() and digest != vouched:
        pinned = ", ".join(archive.sha256) or "none yet"
        raise InputError(f"{path.name} has SHA-256 {digest}, which is not a release the role pins ({pinned}): "
                         f"check it against the digest published with the release, then set "
                         f"{EXTRA_DIGEST_ENV.format(env=archive.env)}={digest}", field=f"--archive {role_name}")
    return path


def for_machines(scenario_id: str, machines, given: dict[str, Path], *, with_archives: bool) -> dict[str, list[dict]]:
    """Machine name → [{source, destination}] to upload (archives only when machines are to be provisioned)."""
    unknown = set(given) - {m.role for m in machines if roles.load(m.role).archive}
    if unknown:
        raise InputError(f"no machine of this lab needs an archive for role {', '.join(sorted(unknown))}",
                         field="--archive")
    uploads: dict[str, list[dict]] = {}
    for m in machines:
        role = roles.load(m.role)
        files = [{"source": str(paths.project_root() / f.source), "destination": f.destination} for f in role.files]
        if role.archive and with_archives:
            files.append({"source": str(archive_for(m.role, given, scenario_id, m.name).resolve()),
                          "destination": role.archive.destination})
        uploads[m.name] = files
    return uploads

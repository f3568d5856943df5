"""The embedded provider's Vagrant box: built with mmdebstrap from the host's own apt sources, cached under a
directory named after the hash of its recipe, and added to Vagrant under a name carrying that hash.

A warm cache is never rebuilt: the same recipe gives the same key, whatever the checkout."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from . import paths
from .errors import HostSetupError, LabError

# Bump when the way a box is assembled changes, so old caches are not taken for new ones.
BUILD_FORMAT = "1"
ROOTFS_RECIPE = ("embedded.yaml", "customize.sh")
BOX_RECIPE = ("lxc-template", "lxc-config")
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
VAGRANT_KEYS = Path("/usr/share/rubygems-integration/all/gems")  # Debian ships Vagrant's insecure key pair here

Report = Callable[[str], None]


@dataclass(frozen=True)
class Box:
    key: str
    path: Path

    @property
    def name(self) -> str:
        return f"labgrader/embedded-{self.key}"


def vagrant_key(name: str = "vagrant") -> Path:
    """Vagrant's well-known insecure key (`vagrant`) or its public half (`vagrant.pub`), as Debian ships it."""
    found = sorted(VAGRANT_KEYS.glob(f"vagrant-*/keys/{name}"))
    if not found:
        raise HostSetupError("Vagrant is not installed (no insecure key under /usr/share/rubygems-integration)")
    return found[-1]


def recipe_dir() -> Path:
    return paths.project_root() / "labs" / "box"


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256(BUILD_FORMAT.encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:16]


def rootfs_key() -> str:
    """The expensive part (mmdebstrap): depends on the package list and the customize hook only."""
    return _digest(*((recipe_dir() / name).read_bytes() for name in ROOTFS_RECIPE))


def recipe_key() -> str:
    return _digest(rootfs_key().encode(), *((recipe_dir() / name).read_bytes() for name in BOX_RECIPE))


def cached() -> Box:
    key = recipe_key()
    return Box(key, paths.box_cache_dir() / key / "embedded.box")


def rootfs_archive() -> Path:
    return paths.box_cache_dir() / f"rootfs-{rootfs_key()}" / "rootfs.tar.zst"


def ensure(report: Report = lambda _: None) -> Box:
    """The current recipe's box, built if its cache is cold and added to Vagrant if Vagrant lacks it."""
    box = cached()
    if box.path.is_file():
        report(f"box {box.key}: cached")
    else:
        build(box, report)
    if not _added_to_vagrant(box):
        report(f"box {box.key}: adding to Vagrant")
        result = subprocess.run(["vagrant", "box", "add", "--force", "--name", box.name, "--provider", "lxc",
                                 str(box.path)], capture_output=True, text=True, cwd="/")
        if result.returncode != 0:
            raise LabError(f"vagrant box add failed: {_last_line(result.stderr or result.stdout)}")
    return box


def _added_to_vagrant(box: Box) -> bool:
    vagrant_home = Path(os.environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d")
    return (vagrant_home / "boxes" / box.name.replace("/", "-VAGRANTSLASH-") / "0" / "lxc" / "metadata.json").is_file()


def build(box: Box, report: Report) -> None:
    if os.geteuid() != 0:
        raise HostSetupError("building the box needs root (mmdebstrap --mode=root)")
    rootfs = rootfs_archive()
    if rootfs.is_file():
        report(f"box {box.key}: root file system {rootfs.parent.name} cached")
    else:
        build_rootfs(rootfs, report)
    box.path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"provider": "lxc", "version": "1.0.0", "built-on": time.strftime("%Y-%m-%d"), "recipe": box.key}
    partial = box.path.with_suffix(".partial")
    with tarfile.open(partial, "w") as out:
        info = tarfile.TarInfo("metadata.json")
        payload = json.dumps(metadata).encode()
        info.size = len(payload)
        out.addfile(info, io.BytesIO(payload))
        # vagrant-lxc wants this name; the box's own lxc-template lets tar detect that it is zstd.
        out.add(rootfs, arcname="rootfs.tar.gz")
        for name in BOX_RECIPE:
            out.add(recipe_dir() / name, arcname=name)
    partial.rename(box.path)  # atomic: a half-written box is never taken for a cached one
    report(f"box {box.key}: packaged")


def build_rootfs(target: Path, report: Report) -> None:
    for tool in ("mmdebstrap", "zstd"):
        if shutil.which(tool) is None:
            raise HostSetupError(f"{tool} is not installed; run the README's set-up command (scripts/install)")
    recipe = yaml.safe_load((recipe_dir() / "embedded.yaml").read_text())
    packages = [pkg for group in recipe["packages"].values() for pkg in group]
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log = target.parent / "build.log"
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as tmp:
        work = Path(tmp)
        report(f"root file system {target.parent.name}: mmdebstrap, {len(packages)} packages and their "
               f"dependencies (a few minutes; log: {log})")
        env = dict(os.environ, VAGRANT_PUBKEY=str(vagrant_key("vagrant.pub")),
                   DISABLED_UNITS=" ".join(recipe["disabled_units"]))
        command = ["mmdebstrap", "--mode=root", f"--variant={recipe['variant']}", f"--include={','.join(packages)}",
                   f"--customize-hook={recipe_dir() / 'customize.sh'} \"$1\"", recipe["suite"],
                   str(work / "rootfs"), str(APT_SOURCES)]
        with log.open("w") as out:
            if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode != 0:
                raise LabError(f"box build failed: {_last_line(log.read_text())} (log: {log})")
        report(f"root file system {target.parent.name}: compressing")
        partial = target.with_suffix(".partial")
        with partial.open("wb") as archive:
            tar = subprocess.Popen(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", str(work),
                                    "-cf", "-", "./rootfs"], stdout=subprocess.PIPE)
            zstd = subprocess.run(["zstd", "-q", "-T0", "-3"], stdin=tar.stdout, stdout=archive)
            if tar.wait() != 0 or zstd.returncode != 0:
                raise LabError("box build failed while compressing the root file system")
        partial.rename(target)
    report(f"root file system {target.parent.name}: built in {time.monotonic() - started:.0f} s")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"

"""Debian packages seen from the grader: a repository's index fetched over HTTP, versions compared with Debian's
own ordering (python-debian, the library Debian's tools use), what a machine has pending from a suite.

The version a fix must reach comes from the scenario's data; the candidate is root on the repository machine
too, so its index tells what else the suite offers, never what the fix is."""
from __future__ import annotations

import gzip
from dataclasses import dataclass

from debian.deb822 import Packages
from debian.debian_support import Version

from . import web
from .base import HostUnreachable

INDEX_TIMEOUT_S = 15
MAX_INDEX = 16 << 20  # a lab suite's index is kilobytes; a hostile server must not fill the grader's memory


@dataclass(frozen=True)
class Pending:
    package: str
    installed: str
    offered: str


def newer(candidate: str, than: str) -> bool:
    return Version(candidate) > Version(than)


def at_least(installed: str, wanted: str) -> bool:
    return Version(installed) >= Version(wanted)


def merge(*offers: dict[str, str]) -> dict[str, str]:
    """{package: highest version} over several offers (indexes of several architectures, a version the brief names)."""
    merged: dict[str, str] = {}
    for offer in offers:
        for name, version in offer.items():
            if name not in merged or newer(version, merged[name]):
                merged[name] = version
    return merged


def parse_index(text: str) -> dict[str, str]:
    """A `Packages` index → {package: highest version it offers}."""
    # use_apt_pkg=False: python3-apt is not in the virtualenv, and the pure parser reads a lab index as well.
    return merge(*({stanza["Package"]: stanza["Version"]}
                   for stanza in Packages.iter_paragraphs(text.splitlines(), use_apt_pkg=False)
                   if stanza.get("Package") and stanza.get("Version")))


def parse_installed(text: str) -> dict[str, str]:
    """`dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\\n'` → {package: version} of installed ones."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "installed":
            found[parts[0]] = parts[1]
    return found


def pending(installed: dict[str, str], offered: dict[str, str]) -> list[Pending]:
    """Packages the machine has in an older version than the suite offers (what `apt upgrade` would take)."""
    return [Pending(name, installed[name], version) for name, version in sorted(offered.items())
            if name in installed and newer(version, installed[name])]


def release_architectures(release: str) -> list[str]:
    """The `Architectures:` a suite's Release file declares (where its Packages indexes are)."""
    for line in release.splitlines():
        if line.startswith("Architectures:"):
            return line.split(":", 1)[1].split()
    return []


def fetch_index(url: str) -> str:
    """A suite's Packages index (plain or .gz) fetched by the grader itself. No answer is HostUnreachable."""
    status, body = web.get_bytes(url, timeout=INDEX_TIMEOUT_S, limit=MAX_INDEX + 1)
    if status != 200:
        raise HostUnreachable(f"le dépôt de paquets n'a pas servi {url} (HTTP {status})")
    if len(body) > MAX_INDEX:
        raise HostUnreachable(f"l'index {url} dépasse {MAX_INDEX >> 20} Mo : ce n'est pas l'index d'un dépôt du lab")
    if url.endswith(".gz"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            raise HostUnreachable(f"l'index {url} n'est pas un fichier gzip lisible") from None
    return body.decode("utf-8", errors="replace")

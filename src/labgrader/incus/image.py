"""The box's root file system as an Incus image, imported once per cluster under `labgrader/<rootfs_key>`.

The cached `rootfs.tar.zst` (box.py) is a tar of `./rootfs/…`, which is already the layout of an Incus *unified*
image; what it lacks is `metadata.yaml`. Rather than unpack and recompress 1.1 GB, a zstd frame holding a tar
stream of `metadata.yaml` + `templates/` (without tar's end-of-archive blocks) is sent before the cached file:
concatenated zstd frames decompress to one stream, hence one tar. The cache is only ever read.

The frame is written by hand with *raw* (stored) zstd blocks: a few hundred bytes need no compression, and the
image's fingerprint then depends on the rootfs and the key only, never on the zstd version installed.
"""
from __future__ import annotations

import io
import platform
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from .. import box, paths
from ..errors import HostSetupError
from .client import Client, IncusError

ZSTD_MAGIC = 0xFD2FB528
MAX_BLOCK = 128 * 1024  # zstd's largest block
UPLOAD_TIMEOUT_S = 900  # 400 MB through the API, then Incus unpacks nothing yet: minutes at worst

Report = Callable[[str], None]


@dataclass(frozen=True)
class ImportResult:
    alias: str
    fingerprint: str
    uploaded: bool  # False when the alias (or the same image under no alias) was already there


def alias_of(key: str) -> str:
    return f"labgrader/{key}"


def metadata_tar(key: str, mtime: int, architecture: str) -> bytes:
    """metadata.yaml and its templates as a tar stream *without* the end-of-archive blocks (the rootfs follows).

    Fixed mtimes, owners and modes: the same key and rootfs give the same bytes, hence the same fingerprint."""
    files = {
        "metadata.yaml": (f"architecture: {architecture}\n"
                          f"creation_date: {mtime}\n"
                          "properties:\n"
                          f"  description: labgrader box rootfs-{key}\n"
                          "  os: debian\n"
                          "  release: bookworm\n"
                          f"  labgrader.rootfs_key: \"{key}\"\n"
                          "templates:\n"
                          "  /etc/hostname:\n"
                          "    when: [create, copy, rename]\n"
                          "    template: hostname.tpl\n"
                          "  /etc/hosts:\n"
                          "    when: [create, copy, rename]\n"
                          "    template: hosts.tpl\n"),
        "templates/hostname.tpl": "{{ instance.name }}\n",
        "templates/hosts.tpl": "127.0.0.1 localhost\n127.0.1.1 {{ instance.name }}\n",
    }
    buf = io.BytesIO()
    tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    folder = tarfile.TarInfo("templates")
    folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, mtime
    tar.addfile(folder)
    for name, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, mtime
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()  # tar.close() would append the end-of-archive blocks: the rootfs must follow first


def zstd_stored_frame(data: bytes) -> bytes:
    """`data` as one zstd frame of raw blocks (RFC 8878 §3.1.1): single segment, 8-byte content size, no checksum."""
    header = struct.pack("<IB", ZSTD_MAGIC, 0b11_1_0_0_0_00) + struct.pack("<Q", len(data))
    blocks = []
    chunks = [data[i:i + MAX_BLOCK] for i in range(0, len(data), MAX_BLOCK)] or [b""]
    for n, chunk in enumerate(chunks):
        last = 1 if n == len(chunks) - 1 else 0
        block_header = (len(chunk) << 3) | (0 << 1) | last  # Block_Type 0: Raw_Block
        blocks.append(block_header.to_bytes(3, "little") + chunk)
    return header + b"".join(blocks)


def metadata_frame(key: str, mtime: int, architecture: str | None = None) -> bytes:
    return zstd_stored_frame(metadata_tar(key, mtime, architecture or platform.machine()))


class _Concatenated(io.RawIOBase):
    """The frame, then the cached rootfs, read as one stream: http.client sends it in blocks, never whole."""

    def __init__(self, head: bytes, tail: BinaryIO):
        self.head, self.tail = io.BytesIO(head), tail

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.head.read(size) or self.tail.read(size)


def fingerprint(frame: bytes, archive: Path) -> str:
    """What Incus will call the image: the SHA-256 of the unified tarball as uploaded."""
    return paths.sha256_file(archive, head=frame)


def ensure(client: Client, report: Report = lambda _: None, *, key: str | None = None,
           archive: Path | None = None) -> ImportResult:
    """The image of the current box rootfs on the cluster, imported only if its alias is missing."""
    key = key or box.rootfs_key()
    archive = archive or box.rootfs_archive()
    alias = alias_of(key)
    if client.exists(f"/1.0/images/aliases/{alias}"):
        target = client.get(f"/1.0/images/aliases/{alias}")["target"]
        report(f"image {alias}: already on the cluster")
        return ImportResult(alias, target, uploaded=False)
    if not archive.is_file():
        raise HostSetupError(f"no box root file system at {archive}: run `labgrader box build` first")
    frame = metadata_frame(key, int(archive.stat().st_mtime))
    expected = fingerprint(frame, archive)
    uploaded = not client.exists(f"/1.0/images/{expected}")
    if uploaded:  # else: the same bytes are there under no alias (an alias deleted by hand): just name them
        report(f"image {alias}: uploading {archive.stat().st_size >> 20} MiB")
        with archive.open("rb") as rootfs:
            stream = _Concatenated(frame, rootfs)
            size = len(frame) + archive.stat().st_size
            meta = client.run("POST", "/1.0/images", data=stream,  # type: ignore[arg-type]
                              headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                              timeout=UPLOAD_TIMEOUT_S)
        got = (meta or {}).get("fingerprint", "")
        if got != expected:
            raise IncusError(f"image {alias}: Incus computed fingerprint {got}, expected {expected}")
    try:
        client.call("POST", "/1.0/images/aliases", {"name": alias, "target": expected,
                                                    "description": f"labgrader box rootfs-{key}"})
    except IncusError as exc:
        if exc.status != 409:  # another import named it meanwhile: the same bytes, the same name
            raise
    report(f"image {alias}: {'imported' if uploaded else 'named'} ({expected[:12]})")
    return ImportResult(alias, expected, uploaded)

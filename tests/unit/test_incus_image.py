"""The metadata frame put before the cached rootfs: a stored zstd frame that the real zstd decompresses, followed
by the rootfs's own frame, into one tar that holds both. Reproducible: same key and mtime, same bytes."""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile

import pytest
import yaml

from labgrader.incus.image import alias_of, metadata_frame, zstd_stored_frame


def zstd_decompress(data: bytes) -> bytes:
    if shutil.which("zstd") is None:
        pytest.skip("zstd is not installed (scripts/install installs it)")
    return subprocess.run(["zstd", "-d", "-c"], input=data, capture_output=True, check=True).stdout


def test_stored_frames_decompress_with_the_real_zstd():
    for size in (0, 1, 1000, 128 * 1024, 128 * 1024 + 1, 300_000):
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        assert zstd_decompress(zstd_stored_frame(data)) == data


def test_metadata_then_rootfs_is_one_tar(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "sbin").mkdir(parents=True)
    (rootfs / "sbin" / "init").write_text("#!/bin/sh\n")
    archive = tmp_path / "rootfs.tar.zst"  # the box cache's layout: ./rootfs/…, zstd
    subprocess.run(["tar", "--zstd", "-cf", str(archive), "-C", str(tmp_path), "./rootfs"], check=True)
    unified = metadata_frame("2a59e2987de0e55c", 1764586000, "x86_64") + archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(zstd_decompress(unified))) as tar:
        names = tar.getnames()
        meta = yaml.safe_load(tar.extractfile("metadata.yaml").read())
        assert tar.extractfile("templates/hostname.tpl").read() == b"{{ instance.name }}\n"
    assert names[:4] == ["templates", "metadata.yaml", "templates/hostname.tpl", "templates/hosts.tpl"]
    assert "./rootfs/sbin/init" in names
    assert meta["architecture"] == "x86_64" and meta["creation_date"] == 1764586000
    assert meta["properties"]["labgrader.rootfs_key"] == "2a59e2987de0e55c"
    assert set(meta["templates"]) == {"/etc/hostname", "/etc/hosts"}


def test_the_frame_is_reproducible_and_names_the_key():
    assert metadata_frame("k1", 1, "x86_64") == metadata_frame("k1", 1, "x86_64")
    assert metadata_frame("k1", 1, "x86_64") != metadata_frame("k2", 1, "x86_64")
    assert alias_of("2a59e2987de0e55c") == "labgrader/2a59e2987de0e55c"

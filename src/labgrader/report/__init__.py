"""The report layer: check results → criterion statuses → report.json, junit.xml and report.html."""
from __future__ import annotations

import json
import os
from pathlib import Path

from labgrader.report.html import render_html
from labgrader.report.junit import render_junit
from labgrader.report.model import (
    CheckResult,
    CriterionInfo,
    Evidence,
    automated_without_checks,
    build_report,
    criterion_status,
    exit_code,
)

__all__ = [
    "CheckResult", "CriterionInfo", "Evidence", "automated_without_checks", "build_report",
    "criterion_status", "exit_code", "render_html", "render_junit", "write_reports",
]


def _write(path: Path, data: bytes) -> None:
    # Write then rename, so a reader (CI artefact upload, an evaluator's browser) never sees half a file.
    # Created anew, never through a symlink planted in the output directory.
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def write_text_file(path: Path, text: str) -> Path:
    """Write a report-like file the same safe way (whole or not at all, never through a symlink)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write(Path(path), text.encode("utf-8"))
    return Path(path)


def write_reports(report: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into out_dir; return their paths by format."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Render everything first: a rendering bug must not leave a fresh JSON beside a stale HTML.
    contents = {
        "json": (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "junit": render_junit(report),
        "html": render_html(report).encode("utf-8"),
    }
    names = {"json": "report.json", "junit": "junit.xml", "html": "report.html"}
    paths = {}
    for kind, data in contents.items():
        paths[kind] = out_dir / names[kind]
        _write(paths[kind], data)
    return paths

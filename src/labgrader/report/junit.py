"""junit.xml: one testsuite per run, one testcase per check, for CI dashboards (Jenkins, GitLab).

Built from the report dict (not from CheckResult) so a stored report.json can be re-rendered.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

# Characters XML 1.0 forbids even when escaped (terminal escapes, NULs in command output).
# ElementTree writes them as they are and the file then fails to parse, so they are replaced.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: object) -> str:
    return _XML_ILLEGAL.sub("\ufffd", str(text))


def evidence_text(check: dict) -> str:
    lines = [f"{check['title']}", f"impact: {check['impact']}"]
    for item in check["evidence"]:
        lines.append(f"[{item['host']}] {item['action']}")
        lines.extend(f"    {line}" for line in str(item["detail"]).splitlines() or [""])
    return "\n".join(lines)


def _timestamp(stamp: str) -> dict[str, str]:
    """JUnit's schema wants a zone-less ISO date: the start in UTC, or nothing if it is not a date."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return {}
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return {"timestamp": moment.isoformat(timespec="seconds")}


def _time(seconds: float) -> str:
    return f"{float(seconds):.3f}"


def render_junit(report: dict) -> bytes:
    checks = [(criterion, check) for criterion in report["criteria"] for check in criterion["checks"]]
    counts = {"failed": 0, "error": 0, "skipped": 0}
    for _, check in checks:
        if check["outcome"] in counts:
            counts[check["outcome"]] += 1
    total_time = _time(sum(float(check["duration"]) for _, check in checks))
    attributes = {
        "name": xml_safe(report["scenario"]),
        "tests": str(len(checks)),
        "failures": str(counts["failed"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": total_time,
    }

    root = ET.Element("testsuites", attributes)
    suite = ET.SubElement(root, "testsuite", {**attributes, **_timestamp(report["started_at"])})
    properties = ET.SubElement(suite, "properties")
    for key in ("activity", "activity_title", "candidate", "started_at", "finished_at"):
        ET.SubElement(properties, "property", {"name": key, "value": xml_safe(report.get(key, ""))})

    for criterion, check in checks:
        case = ET.SubElement(suite, "testcase", {
            "classname": xml_safe(criterion["id"]),
            "name": xml_safe(check["id"]),
            "time": _time(check["duration"]),
        })
        message = xml_safe(check["message"])
        if check["outcome"] == "failed":
            ET.SubElement(case, "failure", {"message": message, "type": "failed"}).text = message
        elif check["outcome"] == "error":
            ET.SubElement(case, "error", {"message": message, "type": "error"}).text = message
        elif check["outcome"] == "skipped":
            ET.SubElement(case, "skipped", {"message": message})
        ET.SubElement(case, "system-out").text = xml_safe(evidence_text(check))

    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"

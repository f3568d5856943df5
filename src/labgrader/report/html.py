"""report.html: the evaluator's grid, one self-contained French page (inline CSS, no script, no fetch).

Rendered from the report dict so a stored report.json can be re-rendered. Every piece of text that
came from a check, a host or a data file goes through `_e` — evidence is attacker-influenced (it is
whatever the candidate's machines answered).
"""
from __future__ import annotations

import html
from datetime import datetime

from labgrader import __version__
from labgrader.report.junit import xml_safe

STATUS_LABELS = {"met": "Atteint", "not_met": "Non atteint", "error": "Erreur", "evaluator": "À évaluer"}
STATUS_PLURALS = {"met": "Atteints", "not_met": "Non atteints", "error": "En erreur", "evaluator": "À évaluer"}
# A symbol beside the word so the status is not carried by colour alone; aria-hidden, the word says it.
STATUS_SYMBOLS = {"met": "✓", "not_met": "✗", "error": "!", "evaluator": "?"}
OUTCOME_LABELS = {"passed": "Réussie", "failed": "Échouée", "error": "Erreur", "skipped": "Ignorée"}
OUTCOME_STATUS = {"passed": "met", "failed": "not_met", "error": "error", "skipped": "error"}
ASSESSMENT_LABELS = {"automated": "Vérification automatique", "evaluator": "Jugé par l'évaluateur"}
VERDICTS = {
    0: "Tous les critères vérifiés automatiquement sont atteints.",
    1: "Au moins un critère vérifié automatiquement n'est pas atteint.",
    3: ("Une erreur (machine injoignable, vérification qui n'a pas pu s'exécuter) a empêché de juger "
        "au moins un critère ; tous les autres critères sont notés."),
}
INCOMPLETE = ("Rapport incomplet : l'exécution a été interrompue. Les critères qui n'ont pas été entièrement "
              "vérifiés sont en erreur ; aucun n'est déclaré atteint sur ce qui reste.")

# Palette — WCAG 2.1 contrast ratios, computed with the relative-luminance formula (SC 1.4.3 / 1.4.11):
#   text   #1a1a1a on #ffffff 17.40 | on #f4f6f8 16.07 | on #eef1f5 15.36
#   muted  #4a4f57 on #ffffff  8.24 | on #f4f6f8  7.61 | on #eef1f5  7.28
#   met       #0b5d1e on #e3f4e6  7.06
#   not_met   #8a1111 on #fde8e8  8.25
#   error     #7a4100 on #fff1d6  7.28
#   evaluator #1d3f8a on #e6eefc  8.45
#   header    #ffffff on #1f2a44 14.26
#   focus ring / checkbox #1d4ed8 on #ffffff 6.70, on #f4f6f8 6.19 (non-text, needs 3:1)
#   form borders #6b7280 on #ffffff 4.83 (non-text, needs 3:1)
# Row edge colours (#1e7b34, #b42318, #b54708, #1d4ed8) are decoration: the status word carries the meaning.
CSS = """
*,*::before,*::after{box-sizing:border-box}
html{font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  font-size:100%;line-height:1.5;color:#1a1a1a;background:#ffffff}
body{margin:0}
.page-header{background:#1f2a44;color:#ffffff;padding:1.25rem 1.5rem}
.page-header h1{margin:.1rem 0 .4rem;font-size:1.6rem;line-height:1.25}
.page-header .kicker{margin:0;font-size:.95rem;letter-spacing:.02em}
.page-header code{color:#ffffff}
.meta{display:flex;flex-wrap:wrap;gap:.25rem 2rem;margin:.75rem 0 0}
.meta div{display:flex;gap:.4rem}
.meta dt{font-weight:700}
.meta dt::after{content:" :"}
.meta dd{margin:0}
main,footer{max-width:90rem;margin:0 auto;padding:0 1.5rem}
h2{font-size:1.3rem;margin:1.5rem 0 .5rem}
.verdict{font-weight:700;padding:.6rem .9rem;border-left:.4rem solid;margin:.5rem 0}
.totals{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0;padding:0}
.totals div{padding:.35rem .8rem;border-radius:.3rem;display:flex;gap:.4rem;align-items:baseline}
.totals dt::after{content:" :"}
.totals dd{margin:0;font-weight:700;font-size:1.1rem}
.grid{border-collapse:collapse;width:100%;margin:.5rem 0 2rem}
.grid caption{text-align:left;font-weight:700;padding:.4rem 0;caption-side:top}
.grid th,.grid td{border:1px solid #c3c8d0;padding:.6rem .7rem;text-align:left;vertical-align:top;
  overflow-wrap:anywhere}
.grid thead th{background:#eef1f5}
.grid th[scope=row]{background:#f4f6f8;white-space:nowrap;overflow-wrap:normal}
.grid tbody tr>th{border-left-width:.4rem}
.grid .col-id{width:8rem}.grid .col-status{width:9.5rem}.grid .col-text{width:32%}
.grid td p{margin:0 0 .35rem}
.group,.assessment,.check-id{color:#4a4f57;font-size:.9rem}
.badge{display:inline-block;font-weight:700;padding:.1rem .55rem;border-radius:.3rem;white-space:nowrap}
.status-met{background:#e3f4e6;color:#0b5d1e}
.status-not_met{background:#fde8e8;color:#8a1111}
.status-error{background:#fff1d6;color:#7a4100}
.status-evaluator{background:#e6eefc;color:#1d3f8a}
tr.row-met>th{border-left-color:#1e7b34}tr.row-not_met>th{border-left-color:#b42318}
tr.row-error>th{border-left-color:#b54708}tr.row-evaluator>th{border-left-color:#1d4ed8}
.verdict-0{border-color:#1e7b34}.verdict-1{border-color:#b42318}.verdict-3{border-color:#b54708}
.checks{list-style:none;margin:0;padding:0}
.checks>li{padding:.4rem 0;border-top:1px solid #dde1e6}
.checks>li:first-child{border-top:0;padding-top:0}
.check-title{font-weight:700}
.message{white-space:pre-wrap}
details{margin:.25rem 0}
summary{cursor:pointer;color:#1d3f8a;font-weight:700;padding:.1rem 0}
.evidence{margin:.35rem 0 0;padding-left:1.1rem}
.evidence li{margin:.35rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f6f8;color:#1a1a1a;border:1px solid #dde1e6;
  padding:.4rem .55rem;margin:.2rem 0;font-size:.85rem;
  font-family:"DejaVu Sans Mono",ui-monospace,Consolas,monospace}
code{font-family:"DejaVu Sans Mono",ui-monospace,Consolas,monospace;font-size:.9em}
.evaluator-box{border:1px dashed #6b7280;border-radius:.3rem;padding:.5rem .7rem;background:#ffffff}
.tick{display:flex;align-items:center;gap:.5rem;font-weight:700}
.tick input{width:1.3rem;height:1.3rem;margin:0;accent-color:#1d4ed8;flex:none}
.notes label{display:block;font-size:.9rem}
textarea{width:100%;min-height:3rem;font:inherit;color:#1a1a1a;background:#ffffff;
  border:1px solid #6b7280;border-radius:.2rem;padding:.3rem}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;
  clip:rect(0 0 0 0);white-space:nowrap;border:0}
footer{color:#4a4f57;font-size:.9rem;padding-bottom:2rem}
@media print{
  .page-header{background:#ffffff;color:#1a1a1a;border-bottom:2px solid #1a1a1a}
  .page-header code{color:#1a1a1a}
  tr{break-inside:avoid}
}
"""


def _e(value: object) -> str:
    return html.escape(xml_safe(value), quote=True)


def _when(stamp: str) -> str:
    """A <time> element with the machine value kept and a French reading shown."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return _e(stamp)
    shown = moment.strftime("%d/%m/%Y à %H:%M")
    if moment.tzinfo is not None:
        offset = moment.strftime("%z")
        shown += " UTC" if offset in ("+0000", "-0000") else f" (UTC{offset[:3]}:{offset[3:]})"
    return f'<time datetime="{_e(stamp)}">{_e(shown)}</time>'


def _number(value: float, digits: int) -> str:
    return f"{float(value):.{digits}f}".replace(".", ",")


def _badge(status: str, label: str) -> str:
    return (f'<span class="badge status-{_e(status)}"><span aria-hidden="true">{STATUS_SYMBOLS[status]}</span> '
            f"{_e(label)}</span>")


def _detail(text: str) -> str:
    return f"<pre>{_e(text)}</pre>" if str(text).strip() else "<p><em>(réponse vide)</em></p>"


def _evidence(check: dict) -> str:
    items = check["evidence"]
    if items:
        body = "".join(
            f'<li><p><strong>{_e(item["host"])}</strong> — {_e(item["action"])}</p>{_detail(item["detail"])}</li>'
            for item in items
        )
        body = f'<ul class="evidence">{body}</ul>'
    else:
        body = "<p>Aucune preuve enregistrée.</p>"
    return (
        f'<details><summary>Preuves ({len(items)})<span class="vh"> : {_e(check["title"])}</span></summary>'
        f'<p class="check-id">Vérification <code>{_e(check["id"])}</code> · impact {_number(check["impact"], 1)}'
        f' · durée {_number(check["duration"], 2)} s</p>{body}</details>'
    )


def _checks(criterion: dict) -> str:
    rows = []
    for check in criterion["checks"]:
        outcome = check["outcome"]
        rows.append(
            f'<li>{_badge(OUTCOME_STATUS[outcome], OUTCOME_LABELS[outcome])} '
            f'<span class="check-title">{_e(check["title"])}</span>'
            + (f'<p class="message">{_e(check["message"])}</p>' if check["message"] else "")
            + _evidence(check) + "</li>"
        )
    return f'<ul class="checks">{"".join(rows)}</ul>' if rows else ""


def _evaluator_box(criterion: dict, index: int) -> str:
    hidden = f'<span class="vh"> ({_e(criterion["id"])})</span>'
    return (
        '<div class="evaluator-box">'
        f'<p class="tick"><input type="checkbox" id="valide-{index}" name="valide-{index}">'
        f'<label for="valide-{index}">Critère validé par l\'évaluateur{hidden}</label></p>'
        f'<p class="notes"><label for="notes-{index}">Notes de l\'évaluateur{hidden}</label>'
        f'<textarea id="notes-{index}" name="notes-{index}" rows="2"></textarea></p>'
        "</div>"
    )


def _row(criterion: dict, index: int) -> str:
    status = criterion["status"]
    cell = _checks(criterion)
    if cell and criterion["assessment"] == "evaluator":  # supporting checks: evidence beside the box, not a verdict
        cell = ('<p class="supporting">Éléments relevés automatiquement pour éclairer l\'évaluateur '
                '(ce ne sont pas des verdicts) :</p>' + cell)
    if criterion["guidance"]:
        cell += f'<p class="guidance">{_e(criterion["guidance"])}</p>'
    if status == "evaluator":
        cell += _evaluator_box(criterion, index)
    group = f'<p class="group">{_e(criterion["group"])}</p>' if criterion["group"] else ""
    return (
        f'<tr class="row-{_e(status)}"><th scope="row">{_e(criterion["id"])}</th>'
        f'<td><p>{_e(criterion["text"])}</p>{group}</td>'
        f'<td>{_badge(status, STATUS_LABELS[status])}'
        f'<p class="assessment">{_e(ASSESSMENT_LABELS.get(criterion["assessment"], criterion["assessment"]))}</p></td>'
        f"<td>{cell}</td></tr>"
    )


def _summary(report: dict) -> str:
    summary = report["summary"]
    code = summary["exit_code"]
    totals = "".join(
        f'<div class="status-{status}"><dt>{STATUS_PLURALS[status]}</dt><dd>{summary[status]}</dd></div>'
        for status in STATUS_LABELS
    )
    checks = summary["checks"]
    check_line = ", ".join(f"{checks[o]} {OUTCOME_LABELS[o].lower()}{'s' if checks[o] > 1 else ''}"
                           for o in OUTCOME_LABELS)
    return (
        '<section aria-labelledby="synthese"><h2 id="synthese">Synthèse</h2>'
        f'<p class="verdict verdict-{code}">{_e(INCOMPLETE if report.get("incomplete") else VERDICTS.get(code, ""))}</p>'
        f'<dl class="totals">{totals}</dl>'
        f"<p>{summary['criteria']} critères dans la grille ; vérifications : {check_line}.</p>"
        + (f"<p>{summary['evaluator']} critère(s) à juger par l'évaluateur : cochez la case "
           "correspondante dans la grille.</p>" if summary["evaluator"] else "")
        + "</section>"
    )


def render_html(report: dict) -> str:
    activity = f'{report["activity"]} — {report.get("activity_title", "")}'.rstrip(" —")
    rows = "".join(_row(criterion, index) for index, criterion in enumerate(report["criteria"], 1))
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grille d'évaluation — {_e(activity)} — {_e(report["scenario"])} — {_e(report["candidate"])}</title>
<style>{CSS}</style>
</head>
<body>
<header class="page-header">
<p class="kicker">Grille d'évaluation · scénario <code>{_e(report["scenario"])}</code></p>
<h1>{_e(activity)}</h1>
<dl class="meta">
<div><dt>Candidat (identifiant pseudonyme)</dt><dd>{_e(report["candidate"])}</dd></div>
<div><dt>Scénario</dt><dd>{_e(report["scenario"])}</dd></div>
<div><dt>Début</dt><dd>{_when(report["started_at"])}</dd></div>
<div><dt>Fin</dt><dd>{_when(report["finished_at"])}</dd></div>
</dl>
</header>
<main>
{_summary(report)}
<section aria-labelledby="grille"><h2 id="grille">Grille des critères</h2>
<table class="grid">
<caption>Critères de l'activité {_e(report["activity"])} : statut, vérifications et preuves</caption>
<colgroup><col class="col-id"><col class="col-text"><col class="col-status"><col></colgroup>
<thead><tr><th scope="col">Critère</th><th scope="col">Intitulé</th><th scope="col">Statut</th>
<th scope="col">Vérifications / preuves</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</section>
</main>
<footer>
<p>Généré par labgrader {_e(__version__)}. Les cases cochées et les notes ne sont pas enregistrées par
cette page : imprimez-la une fois remplie ou reportez-les dans la grille officielle.</p>
</footer>
</body>
</html>
"""

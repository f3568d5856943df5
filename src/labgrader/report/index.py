"""The jury's index of a session: one row per candidate, one column per criterion, as index.json, index.csv
and index.html (French, accessible, self-contained: filters by status are radio buttons and CSS, no script).
"""
from __future__ import annotations

import csv
import io
import json

from .html import CSS, STATUS_LABELS, _badge, _e

NOT_GRADED = "non noté"
FILTERS = {"tous": "Tous les candidats", "not_met": "Avec un critère non atteint",
           "error": "Avec un critère en erreur ou non notés", "met": "Tous critères automatiques atteints"}


def index_document(rows: list[dict], criteria: list[str]) -> dict:
    graded = [row for row in rows if row["graded"]]
    return {"criteria": criteria, "candidates": rows,
            "summary": {"candidates": len(rows), "graded": len(graded),
                        "not_graded": len(rows) - len(graded),
                        "all_met": sum(row["exit_code"] == 0 for row in graded),
                        "some_not_met": sum(row["exit_code"] == 1 for row in graded),
                        "with_errors": sum(row["exit_code"] == 3 for row in graded)}}


def render_json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def render_csv(document: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["candidat", "scenario", "note", "code_sortie", "rapport", *document["criteria"], "probleme"])
    for row in document["candidates"]:
        statuses = [row["statuses"].get(c, "") for c in document["criteria"]]
        writer.writerow([row["candidate"], row["scenario"], "oui" if row["graded"] else "non",
                         row["exit_code"], row["report"], *statuses, _csv_safe(row["problem"])])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (candidate-influenced text)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _classes(row: dict) -> str:
    if not row["graded"]:
        return "cand-error"
    statuses = set(row["statuses"].values())
    classes = [f"cand-{status}" for status in ("not_met", "error") if status in statuses]
    if row["exit_code"] == 0:
        classes.append("cand-met")
    return " ".join(classes)


def _filters_css() -> str:
    rules = [f'body:has(#filtre-{key}:checked) tbody tr:not(.cand-{key}){{display:none}}'
             for key in FILTERS if key != "tous"]
    return "\n".join(rules)


def render_html(document: dict, title: str) -> str:
    criteria = document["criteria"]
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in criteria)
    body = []
    for row in document["candidates"]:
        link = (f'<a href="{_e(row["report"])}">{_e(row["candidate"])}<span class="vh"> : grille détaillée</span></a>'
                if row["report"] else _e(row["candidate"]))
        if row["graded"]:
            cells = "".join(f"<td>{_badge(row['statuses'][c], STATUS_LABELS[row['statuses'][c]])}</td>"
                            if c in row["statuses"] else "<td>—</td>" for c in criteria)
        else:
            cells = f'<td colspan="{len(criteria)}">{_badge("error", NOT_GRADED)} {_e(row["problem"])}</td>'
        body.append(f'<tr class="{_classes(row)}"><th scope="row">{link}</th><td>{_e(row["scenario"])}</td>{cells}</tr>')
    summary = document["summary"]
    filters = "".join(f'<span class="filter"><input type="radio" name="filtre" id="filtre-{key}"'
                      f'{" checked" if key == "tous" else ""}><label for="filtre-{key}">{_e(label)}</label></span>'
                      for key, label in FILTERS.items())
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}
.filters{{border:1px solid #c3c8d0;border-radius:.3rem;padding:.5rem .8rem;margin:1rem 0;display:flex;flex-wrap:wrap;
  gap:.4rem 1.2rem;align-items:center}}
.filters legend{{font-weight:700;padding:0 .3rem}}
.filter{{white-space:nowrap}}
.filters input{{accent-color:#1d4ed8;width:1.1rem;height:1.1rem;margin:0 .3rem 0 0;vertical-align:middle}}
{_filters_css()}
</style>
</head>
<body>
<header class="page-header">
<p class="kicker">Index de session · labgrader</p>
<h1>{_e(title)}</h1>
</header>
<main>
<section aria-labelledby="synthese"><h2 id="synthese">Synthèse</h2>
<p>{summary['candidates']} candidat(s) ; {summary['graded']} noté(s), {summary['not_graded']} non noté(s) ;
{summary['all_met']} avec tous les critères automatiques atteints, {summary['some_not_met']} avec au moins un critère
non atteint, {summary['with_errors']} avec au moins un critère en erreur.</p>
</section>
<section aria-labelledby="candidats"><h2 id="candidats">Candidats</h2>
<fieldset class="filters"><legend>Afficher</legend>{filters}</fieldset>
<table class="grid">
<caption>Statut de chaque critère par candidat (identifiants pseudonymes) ; chaque nom mène à sa grille</caption>
<thead><tr><th scope="col">Candidat</th><th scope="col">Scénario</th>{head}</tr></thead>
<tbody>
{"".join(body)}
</tbody>
</table>
</section>
</main>
<footer><p>Les statuts sont ceux des grilles détaillées : « Atteint », « Non atteint », « Erreur » (le correcteur n'a
pas pu juger, ce n'est pas un verdict), « À évaluer » (critère jugé par l'évaluateur).</p></footer>
</body>
</html>
"""

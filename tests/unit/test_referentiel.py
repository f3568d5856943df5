import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from labgrader import referentiel as rf
from labgrader.errors import LabgraderError

# The certification's text, in the project's shared/ folder beside the checkout (as laid for sessions and CI).
SOURCE = Path(__file__).resolve().parents[3] / "shared" / "referentiel" / "000_3a5490b78cda70d2.txt"

EXPECTED_COUNTS = {
    "A1.1": 8, "A1.2": 6, "A1.3": 5,
    "A2.1": 7, "A2.2": 9, "A2.3": 7,
    "A3.1": 7, "A3.2": 8, "A3.3": 5,
}


@pytest.fixture(scope="module")
def ref():
    return rf.load()


def packaged_data():
    return yaml.safe_load(resources.files("labgrader").joinpath("data/referentiel.yaml").read_text("utf-8"))


def write(tmp_path, data):
    path = tmp_path / "referentiel.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- structure -------------------------------------------------------------------------------

def test_three_blocs_nine_activities_in_order(ref):
    assert [b.id for b in ref.blocs] == ["B1", "B2", "B3"]
    assert [a.id for a in ref.activities()] == list(EXPECTED_COUNTS)
    for bloc in ref.blocs:
        assert all(a.bloc_id == bloc.id and a.id.startswith("A" + bloc.id[1:] + ".") for a in bloc.activities)


@pytest.mark.parametrize("activity_id,count", EXPECTED_COUNTS.items())
def test_criteria_count_per_activity(ref, activity_id, count):
    assert len(ref.activity(activity_id).criteria) == count


def test_total_is_62(ref):
    assert sum(1 for _ in ref.criteria()) == 62


def test_ids_well_formed_unique_and_numbered_from_one(ref):
    ids = [c.id for c in ref.criteria()]
    assert len(ids) == len(set(ids))
    for activity in ref.activities():
        assert [c.id for c in activity.criteria] == [
            f"{activity.id}/CE.{n}" for n in range(1, len(activity.criteria) + 1)
        ]
        for c in activity.criteria:
            assert rf.is_criterion_id(c.id)
            assert c.activity_id == activity.id


@pytest.mark.parametrize("value", ["A1.1/CE.4", "A2.2/CE.9", "A3.3/CE.10"])
def test_is_criterion_id_accepts(value):
    assert rf.is_criterion_id(value)


@pytest.mark.parametrize(
    "value", ["A.2.1/CE.1", "A2.1/CE1", "A2.1 /CE.1", "A2.1/CE.0", "CE.1", "A2.1/CE.1 ", "a1.1/ce.1", "", None, 11]
)
def test_is_criterion_id_rejects(value):
    assert not rf.is_criterion_id(value)


def test_competences(ref):
    assert [c.id for c in ref.activity("A2.2").competences] == ["C2.2.1", "C2.2.2", "C2.2.3", "C2.2.4"]
    # The source spells it "C3.3."; the id is normalised, the text must survive the page break intact.
    (c33,) = ref.activity("A3.3").competences
    assert c33.id == "C3.3"
    assert "adapté à la diversité du public en particulier les personnes en situation de handicap" in c33.text


# --- verbatim text ---------------------------------------------------------------------------

def test_spot_check_texts(ref):
    assert ref.criterion("A1.1/CE.4").text == (
        "La démonstration atteste qu'un utilisateur peut se connecter sur la machine "
        "avec des identifiants et mots de passe du domaine."
    )
    assert ref.criterion("A2.2/CE.9").text == (
        "La situation nominale de fonctionnalité et de sécurité est rétablie à l'issue de l'intervention."
    )
    # Split across a page break in the source: both halves must be joined with one space.
    assert ref.criterion("A2.2/CE.6").text == (
        "Les interventions sont effectuées dans le respect des délais et des normes en vigueur, "
        "telles que des normes de sécurité, et sans erreurs techniques."
    )
    assert ref.criterion("A1.1/CE.8").text.endswith(
        "connaissances techniques correctes et actualisées et de la capacité du candidat à transmettre ses connaissances."
    )
    # "CE.6 : La présentation…" in the source: the separator colon is not part of the text.
    assert ref.criterion("A2.3/CE.6").text.startswith("La présentation respecte")
    # Words are kept as written, typos included.
    assert "énervernement" in ref.criterion("A3.2/CE.3").text


def test_groups(ref):
    assert ref.criterion("A2.1/CE.1").group == "Pertinence de la supervision du parc"
    assert ref.criterion("A2.1/CE.5").group == "Pertinence de la gestion de la documentation"
    assert ref.criterion("A2.1/CE.6").group == "Pertinence de la gestion de l'inventaire"
    assert ref.criterion("A2.3/CE.7").group == "Capacité à utiliser la veille de manière opérationnelle"
    assert ref.criterion("A3.2/CE.6").group == "Pertinence de l'intervention"


def test_no_html_or_stray_whitespace(ref):
    texts = [c.text for c in ref.criteria()] + [c.group for c in ref.criteria()]
    texts += [k.text for a in ref.activities() for k in a.competences] + [a.title for a in ref.activities()]
    for text in texts:
        assert "<" not in text and ">" not in text, text
        assert text == " ".join(text.split()), text


def _normalised_source():
    raw = SOURCE.read_text(encoding="utf-8")
    return " ".join(re.sub(r"<[^>]+>", " ", raw).split())


@pytest.mark.skipif(not SOURCE.exists(), reason="source text of the referentiel not available here")
def test_every_text_is_verbatim_from_source(ref):
    source = _normalised_source()
    # These run across a page break with another column in between, so check each half.
    split = {
        "A2.2/CE.6": ("Les interventions sont effectuées dans le respect des", "délais et des normes en vigueur"),
        "C2.1.2": ("grâce à un outil de", "gestion documentaire tel que Wiki, afin d'optimiser"),
        "C3.3": ("adapté à la diversité", "du public en particulier les personnes en situation de handicap"),
    }
    items = [(c.id, c.text) for c in ref.criteria()]
    items += [(k.id, k.text) for a in ref.activities() for k in a.competences]
    for item_id, text in items:
        if item_id in split:
            head, tail = split[item_id]
            assert head in text and tail in text and head in source and tail in source
        else:
            assert text in source, item_id
    for c in ref.criteria():
        assert c.group in source, c.id


# --- assessment ------------------------------------------------------------------------------

def test_every_criterion_has_the_sentence_its_assessment_needs(ref):
    for c in ref.criteria():
        assert c.assessment in {"automated", "evaluator"}
        if c.assessment == "evaluator":
            assert c.guidance and c.guidance.strip(), c.id
        else:
            assert c.observable and c.observable.strip(), c.id


def test_assessment_split_is_plausible(ref):
    # Lab-observable facts versus things only an oral defence can show.
    assert ref.criterion("A1.1/CE.4").automated
    assert ref.criterion("A1.3/CE.1").automated
    assert ref.criterion("A2.2/CE.7").automated
    assert not ref.criterion("A1.1/CE.7").automated
    assert not ref.criterion("A3.2/CE.3").automated
    assert all(c.assessment == "evaluator" for c in ref.activity("A2.3").criteria)
    assert all(c.assessment == "evaluator" for c in ref.activity("A3.3").criteria)


# --- lookups ---------------------------------------------------------------------------------

def test_unknown_criterion_id(ref):
    with pytest.raises(rf.ReferentielError, match=r"unknown criterion id 'A9\.9/CE\.1'") as info:
        ref.criterion("A9.9/CE.1")
    assert "\n" not in str(info.value)
    with pytest.raises(rf.ReferentielError, match=r"unknown criterion id 'A1\.1/CE\.9'"):
        ref.criterion("A1.1/CE.9")


def test_malformed_criterion_id(ref):
    with pytest.raises(rf.ReferentielError, match=r"'A\.2\.1/CE\.1' is not a criterion id.*A<bloc>\.<n>/CE\.<m>"):
        ref.criterion("A.2.1/CE.1")


def test_unknown_activity_id(ref):
    with pytest.raises(rf.ReferentielError, match=r"unknown activity id 'A4\.1'"):
        ref.activity("A4.1")


def test_error_hierarchy():
    assert issubclass(rf.ReferentielError, LabgraderError)


# --- loading and validation ------------------------------------------------------------------

def test_load_from_explicit_path_matches_packaged(ref, tmp_path):
    assert rf.load(write(tmp_path, packaged_data())) == ref


def _criterion(data, bloc, activity, index):
    return data["blocs"][bloc]["activities"][activity]["criteria"][index]


def _drop_guidance(data):
    del _criterion(data, 0, 0, 5)["guidance"]  # A1.1/CE.6, an evaluator criterion


def _drop_observable(data):
    del _criterion(data, 0, 0, 0)["observable"]  # A1.1/CE.1, an automated criterion


def _bad_assessment(data):
    _criterion(data, 1, 1, 2)["assessment"] = "manual"


def _duplicate_id(data):
    _criterion(data, 0, 0, 1)["id"] = "A1.1/CE.1"


def _wrong_prefix(data):
    _criterion(data, 2, 0, 0)["id"] = "A3.2/CE.1"


def _source_spelling(data):
    _criterion(data, 1, 0, 0)["id"] = "A.2.1/CE.1"


def _empty_text(data):
    _criterion(data, 2, 2, 4)["text"] = "  "


def _no_criteria(data):
    data["blocs"][0]["activities"][2]["criteria"] = []


@pytest.mark.parametrize(
    "corrupt,field,words",
    [
        (_drop_guidance, "blocs[0].activities[0].criteria[5].guidance", "A1.1/CE.6"),
        (_drop_observable, "blocs[0].activities[0].criteria[0].observable", "A1.1/CE.1"),
        (_bad_assessment, "blocs[1].activities[1].criteria[2].assessment", "'manual'"),
        (_duplicate_id, "blocs[0].activities[0].criteria[1].id", "duplicate criterion id A1.1/CE.1"),
        (_wrong_prefix, "blocs[2].activities[0].criteria[0].id", "listed under activity A3.1"),
        (_source_spelling, "blocs[1].activities[0].criteria[0].id", "not a criterion id"),
        (_empty_text, "blocs[2].activities[2].criteria[4].text", "empty"),
        (_no_criteria, "blocs[0].activities[2].criteria", "non-empty list"),
    ],
)
def test_corrupted_yaml_names_file_and_field(tmp_path, corrupt, field, words):
    data = packaged_data()
    corrupt(data)
    path = write(tmp_path, data)
    with pytest.raises(rf.ReferentielError) as info:
        rf.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: "), message
    assert words in message
    assert info.value.field == field


def test_invalid_yaml_syntax_is_one_line(tmp_path):
    path = tmp_path / "referentiel.yaml"
    path.write_text("title: x\nblocs: [\n  - id: B1\n", encoding="utf-8")
    with pytest.raises(rf.ReferentielError) as info:
        rf.load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "line" in message and "\n" not in message


def test_missing_file(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(rf.ReferentielError, match="cannot read file") as info:
        rf.load(path)
    assert str(path) in str(info.value)

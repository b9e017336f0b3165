"""The sentence-item classifier: items written in the writer's own words, found only where the
rules found nothing; its numpy scorer equals the scikit-learn pipeline; a changed file is refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from cdt_nlp import CdtError, Checker
from cdt_nlp.evaluate import read_labelled
from cdt_nlp.sentence_items import (
    ARRAYS_FILE,
    LEARNED_ITEMS,
    MANIFEST_FILE,
    load_sentence_items,
    save_sentence_items,
    train_sentence_items,
)

from .conftest import ROOT

SHIPPED = ROOT / "models" / "sentence_items"
# a limited CBCT of one site, captured and reviewed, with its findings: the rules find no complaint,
# no reason and no plan in it
BASE = (
    "CBCT limited 5 x 5 cm of the #14 site captured and reviewed by Dr Osei. "
    "Ridge 6 mm wide, 8 mm to the sinus floor, no septum. "
)
OWN_WORDS_CC = "The gap where the upper left tooth came out bothers her when she smiles."
OWN_WORDS_REASON = "The panoramic stretched that area too much to trust the height, so we looked in 3D."


@pytest.fixture(scope="module")
def rules_only(nlp):
    return Checker(nlp=nlp, suggester=None, sentence_items=None)


@pytest.fixture(scope="module")
def learned(nlp):
    return Checker(nlp=nlp, suggester=None, sentence_items=load_sentence_items(SHIPPED))


@pytest.fixture(scope="module")
def tiny(rules_only, tmp_path_factory):
    """A classifier trained on two tune sets, saved, and the fitted scikit-learn parts it came from."""
    notes = read_labelled(ROOT / "corpus" / "tune2a.jsonl") + read_labelled(ROOT / "corpus" / "tune2b.jsonl")
    vectorizer, classifiers = train_sentence_items(notes, rules_only, seed=0)
    out = tmp_path_factory.mktemp("items")
    save_sentence_items(vectorizer, classifiers, out, {"notes": len(notes)})
    return out, vectorizer, classifiers


def test_the_numpy_scorer_gives_the_scikit_learn_pipelines_probabilities(tiny):
    out, vectorizer, classifiers = tiny
    scorer = load_sentence_items(out)
    sentences = [
        OWN_WORDS_CC,
        OWN_WORDS_REASON,
        "Pt c/o pain LR, swelling x3d.",
        "F/u 2 wks w/ Dr. Lee for ext.",
        "a",  # one short word: char n-grams of the whole padded word
        "",  # nothing at all: the intercept alone
        "Ünïcode — dash “quotes” 5×5 cm",
    ]
    expected = np.column_stack(
        [classifiers[item].predict_proba(vectorizer.transform(sentences))[:, 1] for item in scorer.items]
    )
    assert scorer.items == list(LEARNED_ITEMS)
    assert np.allclose(scorer.predict_proba(sentences), expected, atol=1e-5)


def test_the_thresholds_travel_in_the_manifest(tiny):
    manifest = json.loads((tiny[0] / MANIFEST_FILE).read_text())
    assert manifest["thresholds"] == LEARNED_ITEMS
    assert load_sentence_items(tiny[0]).thresholds == LEARNED_ITEMS


def test_a_changed_array_file_is_refused(tiny, tmp_path):
    copy = tmp_path / "items"
    shutil.copytree(tiny[0], copy)
    with open(copy / ARRAYS_FILE, "ab") as f:
        f.write(b"\0")
    with pytest.raises(CdtError) as err:
        load_sentence_items(copy)
    assert err.value.error_id == "E031"


@pytest.mark.parametrize("remove", [MANIFEST_FILE, ARRAYS_FILE])
def test_a_missing_file_is_a_clear_error(tiny, tmp_path, remove):
    copy = tmp_path / "items"
    shutil.copytree(tiny[0], copy)
    (copy / remove).unlink()
    with pytest.raises(CdtError) as err:
        load_sentence_items(copy)
    assert err.value.error_id == "E034"
    assert "train-items" in err.value.message


def test_the_shipped_manifest_matches_its_arrays():
    scorer = load_sentence_items(SHIPPED)  # raises E031 when the checksum differs
    assert set(scorer.items) == set(LEARNED_ITEMS)


@pytest.mark.parametrize(
    "sentence, item",
    [(OWN_WORDS_CC, "chief_complaint"), (OWN_WORDS_REASON, "rationale")],
)
def test_an_item_in_the_writers_own_words_is_found(rules_only, learned, sentence, item):
    note = BASE + sentence
    assert not rules_only.check(note, code="D0364").items[item].present
    result = learned.check(note, code="D0364")
    found = result.items[item]
    assert found.present
    assert [e.text for e in found.evidence] == [sentence]
    # the reader is told which items the classifier found, and how sure it was
    assert found.found_by == "classifier" and LEARNED_ITEMS[item] <= found.confidence <= 1
    assert result.items["findings"].found_by == "rules" and result.items["findings"].confidence is None
    assert result.to_dict()["items"][item]["found_by"] == "classifier"


def test_an_absent_item_has_no_finder(learned):
    result = learned.check(BASE, code="D0364").items["follow_up"]
    assert not result.present and result.found_by is None and result.confidence is None


def test_the_cli_report_says_which_items_the_classifier_found(tmp_path):
    from click.testing import CliRunner

    from cdt_nlp.cli import main

    note = tmp_path / "note.txt"
    note.write_text(BASE + OWN_WORDS_CC, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(note), "--code", "D0364"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if OWN_WORDS_CC in x)
    assert "found by the sentence classifier" in line
    assert not any("sentence classifier" in x for x in res.output.splitlines() if "Findings" in x)


def test_the_audit_output_names_the_finder_of_each_item(tmp_path):
    import csv

    from cdt_nlp.audit.engine import AuditOptions, audit

    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "text", "code"], ["a", BASE + OWN_WORDS_CC, "D0364"]])
    audit(str(src), str(tmp_path / "out.csv"), AuditOptions(jobs=1))
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert row["item.chief_complaint.found_by"] == "classifier"
    assert row["item.findings.found_by"] == "rules"
    assert row["item.follow_up.found_by"] == ""


@pytest.mark.parametrize(
    "tail, item",
    [
        ("No follow-up planned.", "follow_up"),
        ("Plan:", "follow_up"),
        ("Reason for scan: per protocol.", "rationale"),
        ("Mom wants the scan done before the trip.", "rationale"),
        # the classifier likes the sentence (0.8+), but it opens with a negation
        ("No further appointments booked.", "follow_up"),
    ],
)
def test_an_absent_item_stays_absent(learned, tail, item):
    assert not learned.check(BASE + tail, code="D0364").items[item].present


def test_no_interpretation_is_learned_without_a_study_done_here(rules_only, learned):
    """The sentence reads as a conclusion (the classifier gives it 0.98), but nothing was imaged."""
    note = "Pt seen for consult, no imaging today. Most likely a benign cyst that can be watched. Will schedule a CBCT."
    assert not rules_only.check(note, code="D0364").items["interpretation"].present
    assert not learned.check(note, code="D0364").items["interpretation"].present


def test_the_checker_runs_without_an_item_model(rules_only):
    result = rules_only.check(BASE + OWN_WORDS_CC, code="D0364")
    assert result.items["findings"].present
    assert not result.items["chief_complaint"].present


def test_a_model_with_no_classes_for_an_item_is_a_clear_error(rules_only):
    notes = [n for n in read_labelled(ROOT / "corpus" / "tune2a.jsonl") if n.items["follow_up"]]
    with pytest.raises(CdtError) as err:
        train_sentence_items(notes, rules_only)
    assert err.value.error_id == "E032"


def test_train_items_command_writes_a_model_that_loads(tmp_path):
    from click.testing import CliRunner

    from cdt_nlp.cli import main

    out = tmp_path / "items"
    corpus = [str(ROOT / "corpus" / name) for name in ("tune2a.jsonl", "tune2b.jsonl")]
    res = CliRunner().invoke(main, ["train-items", "--corpus", corpus[0], "--corpus", corpus[1], "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Trained on 120 notes from 2 files" in res.output
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["corpus_files"] == ["tune2a.jsonl", "tune2b.jsonl"] and manifest["notes"] == 120
    assert load_sentence_items(out).items == list(LEARNED_ITEMS)


def test_train_items_without_a_corpus_is_a_clear_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cdt_nlp.cli import main

    monkeypatch.chdir(tmp_path)  # no corpus/ folder here
    res = CliRunner().invoke(main, ["train-items", "--out", str(tmp_path / "items")])
    assert res.exit_code == 2
    assert "No training corpus" in res.output and "Traceback" not in res.output

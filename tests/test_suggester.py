"""The code suggester: training, manifest checksum, determinism, and the confusable pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cdt_nlp import CdtError, Checker
from cdt_nlp.evaluate import read_labelled
from cdt_nlp.suggester import ARRAYS_FILE, MANIFEST_FILE, MODEL_FILE, load_suggester
from cdt_nlp.training import CV_REPEATS, choose_setting, extract_features, train_from_files

from .conftest import ROOT

TINY_CODES = {"D0370", "D0386", "D0364", "D0380", None}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """A small slice of the generated training corpus: a few notes of five classes."""
    notes = read_labelled(ROOT / "corpus" / "train.jsonl")
    chosen, counts = [], {}
    for n in notes:
        if n.best_code in TINY_CODES and counts.get(n.best_code, 0) < 12:
            counts[n.best_code] = counts.get(n.best_code, 0) + 1
            chosen.append(n)
    path = tmp_path_factory.mktemp("tiny") / "tiny.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"id": n.id, "text": n.text, "target_code": n.target_code, "best_code": n.best_code, "items": n.items}
            )
            + "\n"
            for n in chosen
        )
    )
    return path


@pytest.fixture(scope="module")
def tiny_model(tiny_corpus, tmp_path_factory, nlp):
    out = tmp_path_factory.mktemp("model")
    manifest = train_from_files([tiny_corpus], out, seed=0, checker=Checker(nlp=nlp, suggester=None))
    return out, manifest


def test_suggester_training_writes_model_and_manifest(tiny_model):
    out, manifest = tiny_model
    assert (out / MODEL_FILE).is_file() and (out / MANIFEST_FILE).is_file()
    for key in ("model_sha256", "corpus_sha256", "versions", "cv_scores", "trained_at", "threshold", "classes"):
        assert key in manifest
    assert set(manifest["classes"]) == {"D0370", "D0386", "D0364", "D0380", "NONE"}
    assert 0 < manifest["cv_scores"]["top1"] <= 1


@pytest.mark.parametrize(("name", "prefer_arrays"), [(MODEL_FILE, False), (ARRAYS_FILE, True)])
def test_suggester_tampered_model_is_refused(tiny_model, tmp_path, name, prefer_arrays):
    out, _ = tiny_model
    for f in (MANIFEST_FILE, MODEL_FILE, ARRAYS_FILE):
        (tmp_path / f).write_bytes((out / f).read_bytes())
    data = bytearray((out / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(CdtError) as info:
        load_suggester(tmp_path, prefer_arrays=prefer_arrays)
    assert info.value.error_id == "E031" and "sha256" in str(info.value)


def test_suggester_array_scorer_equals_the_sklearn_pipeline(tiny_model, nlp):
    out, _ = tiny_model
    arrays, pipeline = load_suggester(out), load_suggester(out, prefer_arrays=False)
    checker = Checker(nlp=nlp, suggester=None)
    notes = [n for n in read_labelled(ROOT / "corpus" / "dev.jsonl")][:15]
    texts, feats = extract_features(notes, checker)
    assert np.allclose(arrays.predict_proba(texts, feats), pipeline.predict_proba(texts, feats), atol=1e-12)
    # one note at a time (the checker's path, without the object table) gives the same numbers
    for text, feat in zip(texts, feats, strict=True):
        one, batch = arrays.suggest(text, feat), pipeline.suggest(text, feat)
        assert [s.code for s in one] == [s.code for s in batch]
        assert np.allclose([s.probability for s in one], [s.probability for s in batch], atol=1e-12)


def test_suggester_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(CdtError) as info:
        load_suggester(tmp_path)
    assert info.value.error_id == "E030"


def test_suggester_same_corpus_and_seed_give_same_predictions(tiny_corpus, tiny_model, tmp_path, nlp):
    out, first = tiny_model
    manifest = train_from_files([tiny_corpus], tmp_path, seed=0, checker=Checker(nlp=nlp, suggester=None))
    assert manifest["cv_scores"] == first["cv_scores"]
    a = Checker(nlp=nlp, suggester=load_suggester(out))
    b = Checker(nlp=nlp, suggester=load_suggester(tmp_path))
    note = "US L SMG captured by assistant, images sent to OMFR for read. CC: swelling x3 wk."
    assert a.check(note, code="D0370").to_dict() == b.check(note, code="D0370").to_dict()


def test_suggester_does_not_depend_on_the_order_of_training_rows(tiny_corpus, tiny_model, tmp_path, nlp):
    """The same notes in another file order give the same model: the calibration folds inside the
    classifier are not shuffled, so the rows are put in one canonical order before fitting."""
    out, first = tiny_model
    lines = tiny_corpus.read_text().splitlines(keepends=True)
    reordered = tmp_path / "reordered.jsonl"
    reordered.write_text("".join(lines[1::2] + lines[0::2][::-1]))
    model_dir = tmp_path / "model"
    manifest = train_from_files([reordered], model_dir, seed=0, checker=Checker(nlp=nlp, suggester=None))
    assert manifest["cv_scores"] == first["cv_scores"]
    checker = Checker(nlp=nlp, suggester=None)
    texts, feats = extract_features(read_labelled(ROOT / "corpus" / "dev.jsonl")[:20], checker)
    a, b = load_suggester(out), load_suggester(model_dir)
    assert np.allclose(a.predict_proba(texts, feats), b.predict_proba(texts, feats), atol=1e-9)


@pytest.fixture(scope="module")
def shipped(nlp):
    return Checker(nlp=nlp)


def test_suggester_shipped_model_is_installed_and_small(shipped):
    assert shipped.suggester is not None
    for name in (MODEL_FILE, ARRAYS_FILE):
        assert (ROOT / "models" / "suggester" / name).stat().st_size < 20 * 1024 * 1024


PAIRS = [
    # (id, note, target, expected best code) -- hand-written, one per confusable distinction
    (
        "us-read",
        "CC: L submandibular swelling with meals x2 mo. US L submandibular gland performed and read by me: "
        "5 mm echogenic stone with shadowing in Wharton's duct. Impression: sialolithiasis. Plan: sialendoscopy.",
        "D0386",
        "D0370",
    ),
    (
        "us-capture",
        "CC: L submandibular swelling with meals x2 mo. US L submandibular gland captured by the "
        "sonographer, 12 images stored. Interpretation deferred to the radiologist; not read by me.",
        "D0370",
        "D0386",
    ),
    (
        "scope",
        "Recurrent R parotid swelling. Sialendoscopy of R Stensen's duct: scope advanced to the hilum, "
        "mucus plugs and a stricture seen, dilated and irrigated. Impression: stricture. Plan: recheck 4 wk.",
        "D0310",
        "D0371",
    ),
    (
        "sialogram",
        "Recurrent R parotid swelling. Sialogram R parotid: Stensen's duct cannulated, 1 mL contrast "
        "injected, films taken: punctate sialectasis. Impression: chronic sialadenitis. Plan: sialogogues.",
        "D0371",
        "D0310",
    ),
    (
        "cbct-limited",
        "Pain #30 x3 wk, PA equivocal. Limited FOV CBCT 5 x 5 cm of #30 taken and read by me: apical "
        "radiolucency mesial root. Impression: apical periodontitis. Plan: retreatment.",
        "D0367",
        "D0364",
    ),
    (
        "cbct-both",
        "Full-mouth implant rehab planning. Large FOV CBCT of both jaws (maxilla and mandible) taken and "
        "read by me: generalized bone loss, sinus floors low. Impression: grafting needed posteriorly.",
        "D0364",
        "D0367",
    ),
    (
        "cbct-capture",
        "Limited FOV CBCT #19 captured today by the assistant, 5 x 5 cm. Volume uploaded to "
        "Dr. Lee (OMFR) for interpretation; no read performed in this office.",
        "D0364",
        "D0380",
    ),
    (
        "fusion",
        "CBCT and intraoral surface scan registered and fused because crown scatter hid the teeth on the "
        "CBCT alone. Fused model: implant path at #19 runs 15 degrees lingual. Plan: guided placement.",
        "D0393",
        "D0395",
    ),
    (
        "simulation",
        "Virtual implant simulation at #19 on the CBCT volume from 4/2 in planning software: 4.8 x 11.5 "
        "implant 1 mm from the canal, replanned to 4.3 x 10. Plan changed; guide ordered.",
        "D0395",
        "D0393",
    ),
    (
        "outside-read",
        "Second opinion: outside CBCT from Dr. Park's office (not taken here) reviewed at his request. "
        "Findings: 9 mm corticated radiolucency at the incisive canal. Impression: nasopalatine duct cyst. Report "
        "sent to Dr. Park.",
        "D0364",
        "D0391",
    ),
    (
        "op-note",
        "OPERATIVE NOTE: surgical extraction #17 and #32 under IV sedation. Pano reviewed pre-op. "
        "Sockets irrigated, sutured. Post-op instructions given; return 1 week.",
        "D0364",
        "NONE",
    ),
]


@pytest.mark.parametrize(("pid", "note", "target", "best"), PAIRS, ids=[p[0] for p in PAIRS])
def test_suggester_confusable_pairs(shipped, pid, note, target, best):
    result = shipped.check(note, code=target)
    top = result.suggestions[0]["code"] if result.suggestions else None
    if best == "NONE":
        assert result.mismatch
        assert any("none of the catalog" in w.message for w in result.warnings)
    else:
        assert top == best
        assert result.mismatch
        assert any(w.check == "code_mismatch" and best in w.message for w in result.warnings)


@pytest.mark.parametrize(("pid", "note", "target", "best"), [p for p in PAIRS if p[3] != "NONE"][:4])
def test_suggester_no_mismatch_when_target_is_right(shipped, pid, note, target, best):
    result = shipped.check(note, code=best)
    assert not result.mismatch
    assert result.suggestions[0]["code"] == best
    assert abs(sum(s["probability"] for s in result.suggestions)) <= 1.0001


def test_suggester_model_with_other_features_is_refused(tiny_model, tmp_path):
    out, _ = tiny_model
    for f in (MANIFEST_FILE, MODEL_FILE, ARRAYS_FILE):
        (tmp_path / f).write_bytes((out / f).read_bytes())
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    manifest["features"] = manifest["features"][:-1]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CdtError) as info:
        load_suggester(tmp_path)
    assert info.value.error_id == "E033"


def _ranked(**probs):
    from cdt_nlp.suggester import Suggestion

    return [Suggestion(c, p) for c, p in sorted(probs.items(), key=lambda kv: -kv[1])]


@pytest.mark.parametrize(
    ("ranked", "target", "floor", "expected"),
    [
        # a confident other code is a mismatch whatever the floor
        (_ranked(D0380=0.8, D0364=0.1, NONE=0.1), "D0364", 0.0, True),
        # nobody is sure: only the floor makes an improbable target a mismatch
        (_ranked(NONE=0.4, D0367=0.3, D0364=0.05), "D0364", 0.0, False),
        (_ranked(NONE=0.4, D0367=0.3, D0364=0.05), "D0364", 0.2, True),
        # a target that is the top class, or probable enough, is never flagged by the floor
        (_ranked(D0364=0.3, NONE=0.25), "D0364", 0.2, False),
        (_ranked(NONE=0.45, D0364=0.35), "D0364", 0.2, False),
    ],
)
def test_suggester_target_floor_flags_unsupported_targets(ranked, target, floor, expected):
    from cdt_nlp.suggester import CodeSuggester

    assert CodeSuggester(pipeline=None, threshold=0.5, target_floor=floor).is_mismatch(target, ranked) is expected


def test_suggester_target_floor_is_chosen_by_training_and_loaded(tiny_model, tmp_path):
    out, manifest = tiny_model
    floor = manifest["cv_scores"]["target_floor"]
    assert manifest["target_floor"] == floor
    assert load_suggester(out).target_floor == floor
    assert load_suggester(out, prefer_arrays=False).target_floor == floor
    for f in (MANIFEST_FILE, MODEL_FILE, ARRAYS_FILE):
        (tmp_path / f).write_bytes((out / f).read_bytes())
    edited = json.loads((tmp_path / MANIFEST_FILE).read_text())
    edited["target_floor"] = 0.3
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(edited))
    assert load_suggester(tmp_path).target_floor == 0.3


def test_suggester_unsupported_target_warning_says_why():
    from cdt_nlp.catalog import Catalog
    from cdt_nlp.mismatch import mismatch_message

    catalog = Catalog.default()
    target = catalog.get("D0364")
    unsure = mismatch_message(catalog, target, "D0384", 0.3, None, target_probability=0.01, confident=False)
    assert "Little in this note supports D0364" in unsure and "D0384" in unsure
    unsure_none = mismatch_message(catalog, target, "NONE", 0.4, None, target_probability=0.01, confident=False)
    assert "no catalog imaging service" in unsure_none
    sure = mismatch_message(catalog, target, "D0380", 0.9, "deferred", target_probability=0.05)
    assert sure.startswith("This note reads as D0380")


def test_suggester_letter_without_imaging_is_a_mismatch(shipped):
    # a consult letter that took no images: whatever the nearest code, billing an imaging code is flagged
    note = (
        "Dear Dr. Lane, thank you for sending Ms. Ortiz about her lower wisdom teeth. Both are partly erupted "
        "with gum inflammation around #32. I took no new images today and will decide on a 3D scan at the "
        "surgery visit on 6/2. Kind regards."
    )
    assert shipped.check(note, code="D0364").mismatch


def test_suggester_trains_on_the_text_check_reads(tmp_path, nlp):
    # an exported note (CRLF, HTML references) gives the model the same text and features as check()
    note = "US L SMG taken &amp; read by me: 4 mm stone.\r\nImpression: sialolith, doesn&#39;t need CT."
    path = tmp_path / "one.jsonl"
    items = dict.fromkeys(("chief_complaint", "anatomical_region", "findings"), True)
    items.update(interpretation=True, rationale=False, follow_up=False)
    path.write_text(json.dumps({"id": "x", "text": note, "target_code": "D0370", "best_code": "D0370", "items": items}))
    checker = Checker(nlp=nlp, suggester=None)
    texts, features = extract_features(read_labelled(path), checker)
    assert texts == ["US L SMG taken & read by me: 4 mm stone.\nImpression: sialolith, doesn't need CT."]
    from cdt_nlp.features import doc_features

    doc = checker.check(note, code="D0370").doc
    assert features[0] == doc_features(doc, checker.item_results(doc, next(iter(checker.catalog))))


def _grid(f1_by_floor: dict[float, float]) -> dict:
    """A mismatch grid at threshold 0.5 only, F1 per floor (precision/recall set equal to it)."""
    return {(0.5, floor): {"precision": f1, "recall": f1, "f1": f1} for floor, f1 in f1_by_floor.items()}


def test_choose_setting_picks_the_floor_best_on_average_over_shuffles():
    # one shuffle alone would pick 0.4 (by a margin above the tie tolerance); on average 0.2 wins
    lucky = _grid({0.0: 0.90, 0.2: 0.91, 0.4: 0.95})
    others = _grid({0.0: 0.90, 0.2: 0.95, 0.4: 0.88})
    assert choose_setting([lucky])[:2] == (0.5, 0.4)
    threshold, floor, grid = choose_setting([lucky, others, others])
    assert (threshold, floor) == (0.5, 0.2)
    assert grid[0.5, 0.2]["f1"] == round((0.91 + 0.95 + 0.95) / 3, 4)


def test_choose_setting_takes_the_middle_floor_among_near_ties():
    # a flat curve whose top moves by a hair between shuffles: the middle of the floors near the top
    flat = _grid({0.0: 0.90, 0.05: 0.949, 0.2: 0.950, 0.35: 0.952})
    assert choose_setting([flat])[:2] == (0.5, 0.2)
    moved = _grid({0.0: 0.90, 0.05: 0.952, 0.2: 0.950, 0.35: 0.949})
    assert choose_setting([moved])[:2] == (0.5, 0.2)


def test_training_reports_the_number_of_shuffles(tiny_model):
    _, manifest = tiny_model
    assert manifest["cv_scores"]["repeats"] == CV_REPEATS > 1

"""Learned recall for items written without the words the rules know.

The rules find an item by its cues and headers. A reason written as "she needs to know whether the
root is still there before we decide", or a complaint as "denture rocks, can't chew meat", has no
cue a rule list would hold, and every new writer brings new wordings. For the items in
:data:`LEARNED_ITEMS`, a logistic regression over each sentence's word and character n-grams
(one shared TF-IDF vocabulary, one classifier per item) scores the sentences of a note in which
the rules found **nothing at all** for that item (reason ``not_found``). The best sentence, when
its probability reaches the item's threshold, becomes the item's evidence.

It never overrides the rules' absence decisions: a negated, deferred, empty, other-person or
"per protocol" item keeps its reason, because the rules did find the item and judged it absent.

Training (:func:`train_sentence_items`): positives are the rules' evidence sentences in notes
whose label says the item is present; negatives are every sentence of notes whose label says it
is absent. The model is saved as plain arrays (``.npz``, loaded with ``allow_pickle=False``) with
a manifest holding their sha256, and :class:`SentenceItemScorer` scores with numpy alone,
reproducing the scikit-learn pipeline (``tests/test_sentence_items.py`` checks both agree).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CdtError
from .linear_export import word_ngrams

#: items the sentence classifier may find, and the probability each needs: chosen at commit
#: 893f838 (the rules and tune sets the shipped arrays were trained on) by 5-fold cross-validation
#: over the tune sets, folds of whole files (``python -m cdt_nlp.threshold_cv``), as the threshold
#: with the best missing-class F1 at which at least 80% of the classifier's own finds are right;
#: rerun on later rules the command picks others for a retrained classifier (see the README)
LEARNED_ITEMS = {"chief_complaint": 0.6, "rationale": 0.85, "follow_up": 0.75, "interpretation": 0.7}
ARRAYS_FILE = "sentence_items.npz"
MANIFEST_FILE = "manifest.json"
WORD_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default token pattern
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)
#: words whose character n-gram columns are kept between sentences (bounds memory on long audits)
CHAR_CACHE_WORDS = 50_000


def build_vectorizer() -> Any:
    """Word 1-2-grams and in-word character 3-5-grams, each TF-IDF and l2-normalised, side by side."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(ngram_range=WORD_NGRAMS, min_df=2, sublinear_tf=True, token_pattern=WORD_PATTERN),
            ),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=3, sublinear_tf=True)),
        ]
    )


def build_classifier(seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=2.0, class_weight="balanced", max_iter=3000, random_state=seed)


def training_sentences(rows: Sequence[dict[str, Any]], item: str) -> tuple[list[str], list[int]]:
    """(sentences, labels) for one item from rows of :func:`note_rows`."""
    texts: list[str] = []
    labels: list[int] = []
    for row in rows:
        gold, (present, evidence) = row["gold"][item], row["rules"][item]
        if gold and present:
            texts.extend(evidence)
            labels.extend([1] * len(evidence))
        elif not gold:
            texts.extend(row["sentences"])
            labels.extend([0] * len(row["sentences"]))
    return texts, labels


def note_rows(notes: Sequence[Any], checker: Any) -> list[dict[str, Any]]:
    """Per labelled note: its labels, the rules' answer per item (present, evidence sentences) and
    its sentences, from the checker's rules alone."""
    from .components._state import doc_text
    from .textio import prepare_note

    info = next(iter(checker.catalog))
    rows = []
    texts = [prepare_note(n.text, checker.max_chars)[1] for n in notes]
    for note, doc in zip(notes, checker.nlp.pipe(texts, batch_size=64), strict=True):
        # the evidence in the detector's order, as the classifier was trained on it
        results = checker.item_results(doc, info, learned=False, labelled_first=False)
        text = doc_text(doc)
        rows.append(
            {
                "gold": note.items,
                "rules": {item: (r.present, [e.text for e in r.evidence]) for item, r in results.items()},
                "sentences": [text[s.start_char : s.end_char] for s in doc.sents],
            }
        )
    return rows


def train_sentence_items(notes: Sequence[Any], checker: Any, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """Fit the shared vectorizer and one classifier per learned item; return (vectorizer,
    {item: classifier})."""
    if not notes:
        raise CdtError("E032", path="(given notes)")
    notes = sorted(notes, key=lambda n: (n.id, n.text))
    rows = note_rows(notes, checker)
    data = {item: training_sentences(rows, item) for item in LEARNED_ITEMS}
    vectorizer = build_vectorizer()
    vectorizer.fit(sorted({t for texts, _ in data.values() for t in texts}))
    classifiers = {}
    for item, (texts, labels) in data.items():
        if len(set(labels)) < 2:
            raise CdtError("E032", path=f"(notes with and without {item})")
        classifiers[item] = build_classifier(seed).fit(vectorizer.transform(texts), labels)
    return vectorizer, classifiers


def save_sentence_items(vectorizer: Any, classifiers: dict[str, Any], directory: Path, manifest: dict) -> Path:
    """Write the arrays and a manifest with their sha256 and the thresholds; return the manifest path."""
    from .suggester import sha256_file

    words, chars = (vectorizer.transformer_list[i][1] for i in (0, 1))
    items = list(classifiers)
    arrays = {
        "items": np.array(items),
        "word_vocabulary": np.array(sorted(words.vocabulary_, key=words.vocabulary_.get)),
        "word_idf": words.idf_,
        "char_vocabulary": np.array(sorted(chars.vocabulary_, key=chars.vocabulary_.get)),
        "char_idf": chars.idf_,
        "coef": np.vstack([classifiers[i].coef_[0] for i in items]).T.astype(np.float32),
        "intercept": np.array([classifiers[i].intercept_[0] for i in items]),
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ARRAYS_FILE
    np.savez_compressed(path, **arrays)
    manifest = {
        **manifest,
        "arrays_file": ARRAYS_FILE,
        "arrays_sha256": sha256_file(path),
        "thresholds": {item: LEARNED_ITEMS[item] for item in items},
    }
    manifest_path = directory / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest_path


def train_from_files(paths: Sequence[Path], out: Path, seed: int = 0, checker: Any = None) -> dict[str, Any]:
    """Read labelled corpora, train, save arrays + manifest to ``out``; return the manifest."""
    from .checker import Checker
    from .evaluate import read_labelled
    from .training import provenance

    notes = [note for path in paths for note in read_labelled(path)]
    checker = checker or Checker(suggester=None, sentence_items=None)
    vectorizer, classifiers = train_sentence_items(notes, checker, seed=seed)
    path = save_sentence_items(vectorizer, classifiers, Path(out), provenance(paths, len(notes), seed))
    return json.loads(path.read_text(encoding="utf-8"))


class SentenceItemScorer:
    """Item probabilities for sentences, with numpy alone, from the saved arrays."""

    def __init__(self, path: Path, thresholds: dict[str, float]) -> None:
        data = np.load(path, allow_pickle=False)
        self.items = [str(i) for i in data["items"]]
        self.thresholds = {item: float(thresholds[item]) for item in self.items}
        self._words = {term: i for i, term in enumerate(data["word_vocabulary"].tolist())}
        self._chars = {term: i for i, term in enumerate(data["char_vocabulary"].tolist())}
        self._word_idf = data["word_idf"]
        self._char_idf = data["char_idf"]
        n_words = len(self._word_idf)
        coef = data["coef"].astype(float)
        self._word_coef, self._char_coef = coef[:n_words], coef[n_words:]
        self._intercept = data["intercept"]
        self._token_re = re.compile(WORD_PATTERN)
        self._char_cache: dict[str, np.ndarray] = {}

    @staticmethod
    def _block(rows: np.ndarray, columns: np.ndarray, n_rows: int, idf: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """One TF-IDF block's share of the scores of ``n_rows`` sentences, from the (row, column)
        of every known n-gram: sublinear term counts times idf, l2-normalised per row, dotted with
        the block's coefficients."""
        if not len(columns):
            return np.zeros((n_rows, coef.shape[1]))
        width = len(idf)
        keys, counts = np.unique(rows * width + columns, return_counts=True)
        rows, columns = keys // width, keys % width
        values = (1.0 + np.log(counts)) * idf[columns]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_rows))
        values = values / norms[rows]
        weighted = coef[columns] * values[:, None]
        return np.stack([np.bincount(rows, weights=weighted[:, k], minlength=n_rows) for k in range(coef.shape[1])], 1)

    def _char_columns(self, word: str) -> np.ndarray:
        """The known character n-gram columns of one word, cached (notes repeat their words)."""
        columns = self._char_cache.get(word)
        if columns is None:
            known = (self._chars.get(gram) for gram in _word_char_grams(word))
            columns = np.fromiter((c for c in known if c is not None), dtype=np.intp)
            if len(self._char_cache) < CHAR_CACHE_WORDS:
                self._char_cache[word] = columns
        return columns

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray:
        """(sentences x items) probabilities, as the fitted pipeline gives them."""
        word_rows: list[int] = []
        word_columns: list[int] = []
        char_pieces: list[np.ndarray] = []
        char_counts: list[int] = []
        for r, sentence in enumerate(sentences):
            lowered = sentence.lower()
            for gram in word_ngrams(self._token_re.findall(lowered), *WORD_NGRAMS):
                column = self._words.get(gram)
                if column is not None:
                    word_rows.append(r)
                    word_columns.append(column)
            pieces = [self._char_columns(word) for word in lowered.split()]
            char_pieces.extend(pieces)
            char_counts.append(sum(len(p) for p in pieces))
        n = len(sentences)
        scores = np.tile(self._intercept, (n, 1))
        rows, columns = np.array(word_rows, dtype=np.intp), np.array(word_columns, dtype=np.intp)
        scores += self._block(rows, columns, n, self._word_idf, self._word_coef)
        char_rows = np.repeat(np.arange(n, dtype=np.intp), char_counts)
        char_columns = np.concatenate(char_pieces) if char_pieces else np.empty(0, dtype=np.intp)
        scores += self._block(char_rows, char_columns, n, self._char_idf, self._char_coef)
        return 1.0 / (1.0 + np.exp(-scores))


def _word_char_grams(word: str) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer for one word: n-grams of the space-padded word."""
    lo, hi = CHAR_NGRAMS
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(lo, hi + 1):
        if size <= n:
            grams.append(padded)  # a short word counts once, whole
            break
        grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


def load_sentence_items(directory: Path) -> SentenceItemScorer:
    """Load the saved scorer after checking the arrays' sha256 against the manifest (E031 if not)."""
    from .suggester import verified_file

    directory = Path(directory)
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CdtError("E034", path=path, reason=str(exc)) from exc
    arrays = directory / manifest.get("arrays_file", ARRAYS_FILE)
    if not arrays.is_file():
        raise CdtError("E034", path=arrays, reason="file not found")
    thresholds = manifest.get("thresholds")
    if not isinstance(thresholds, dict):
        raise CdtError("E034", path=path, reason="the manifest has no item thresholds")
    return SentenceItemScorer(verified_file(arrays, manifest.get("arrays_sha256")), thresholds)

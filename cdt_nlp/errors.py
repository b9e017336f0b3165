"""Numbered, user-facing error messages, kept in one place."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "E001": "The note is empty: paste or pass the text of a chart note.",
    "E002": "The note looks like binary data, not text (found {nul} NUL or control bytes); export it as plain text.",
    "E003": "The note is not valid UTF-8 text and no fallback encoding could read it.",
    "E004": "The note is {size:,} characters long; the limit is {limit:,}. Split it or raise max_chars.",
    "E005": "Unknown code '{code}'. Use one of the imaging codes D0310-D0395 (run `cdt-nlp codes`).",
    "E006": "'{code}' is not a CDT code. Write all four digits, like D0370 or 0370 (the D is optional).",
    "E009": "The note file is larger than {limit:,} bytes; a chart note is far smaller. Pass one note at a time.",
    "E007": "Cannot read '{path}': {reason}",
    "E008": "The note must be text (str or bytes), not {type}.",
    "E010": "Rule file {file} must be a JSON object with the top-level key '{key}'.",
    "E011": "Rule file {file} has unknown top-level keys: {keys}.",
    "E012": "Rule pattern refers to an unknown term set '{{{name}}}'.",
    "E013": "Rule entry in {file} has unknown fields: {fields}.",
    "E014": "Rule file {file}: '{entry}' stands for '{header}', which is not a header in its section_rules.",
    "E030": "Cannot read the code-suggester model at {path}: {reason}. Run `cdt-nlp train` or pass --model.",
    "E031": "Refusing to load {path}: its sha256 ({actual}) does not match the manifest ({expected}). "
    "Loading a model file runs code, so a changed file is never loaded; retrain or restore the shipped file.",
    "E033": "The model in {path} was trained on a different feature set than this version of cdt-nlp "
    "computes (the catalog or the features changed). Retrain it with `cdt-nlp train`.",
    "E034": "Cannot read the sentence-item model at {path}: {reason}. Run `cdt-nlp train-items`.",
    "E032": "Training corpus {path} has no usable notes.",
    "E020": "Evaluation file {path}, line {line}: {reason}",
}


class CdtError(ValueError):
    """An error a user can act on: carries a stable code and a one-line message."""

    def __init__(self, error_id: str, /, **fields: object) -> None:
        self.error_id = error_id
        self.fields = fields
        super().__init__(f"{error_id}: {MESSAGES[error_id].format(**fields)}")

    @property
    def message(self) -> str:
        """The message without the error id prefix."""
        return MESSAGES[self.error_id].format(**self.fields)

"""The ``cdt-nlp`` command line: a thin layer over the library."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from .catalog import Catalog
from .errors import CdtError
from .textio import MAX_CHARS

#: bytes read at most from one note file or stdin (UTF-8 is at most 4 bytes a character)
MAX_NOTE_BYTES = 4 * MAX_CHARS


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 2 (bad input), never a traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def read_input(source: str | None) -> bytes:
    """Read a note from a file path, ``-`` or (when omitted) standard input."""
    if source in (None, "-"):
        stream = sys.stdin.buffer
        if source is None and sys.stdin.isatty():
            click.echo("Paste the note, then press Ctrl-D (Ctrl-Z Enter on Windows):", err=True)
        data = stream.read(MAX_NOTE_BYTES + 1)
    else:
        path = Path(source)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_NOTE_BYTES + 1)
        except OSError as exc:
            raise CdtError("E007", path=source, reason=exc.strerror or str(exc)) from exc
    if len(data) > MAX_NOTE_BYTES:
        raise CdtError("E009", limit=MAX_NOTE_BYTES)
    return data


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdt-nlp")
def main() -> None:
    """Check whether a dental chart note documents the advanced-imaging code being billed.

    Everything runs on this machine; no note text is sent anywhere or logged.
    """


@main.command()
@click.argument("note", required=False, metavar="[FILE|-]")
@click.option("--code", "-c", required=True, help="Target CDT code, e.g. D0370 (the D is optional).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--fail-under", type=click.FloatRange(0, 100), default=None, help="Exit 1 when the score is below this value."
)
def check(note: str | None, code: str, fmt: str, fail_under: float | None) -> None:
    """Score one note against a code's documentation checklist.

    Example: cdt-nlp check note.txt --code D0370
    """
    from .checker import Checker

    try:
        catalog = Catalog.default()
        info = catalog.get(code)
        data = read_input(note)
        result = Checker(catalog=catalog).check(data, code=info.code)
    except CdtError as exc:
        fail(exc.message)
        return
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from .report import render_text

        click.echo(render_text(result, info))
    if fail_under is not None and result.score < fail_under:
        sys.exit(1)


@main.command()
@click.argument("code", required=False)
@click.option("--search", "-s", default=None, help="Only codes whose name or description has these words.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def codes(code: str | None, search: str | None, fmt: str) -> None:
    """List the imaging codes, or show one code's checklist.

    Example: cdt-nlp codes D0370
    """
    from dataclasses import asdict

    from .report import render_code

    catalog = Catalog.default()
    if code:
        try:
            info = catalog.get(code)
        except CdtError as exc:
            fail(exc.message)
            return
        click.echo(json.dumps(asdict(info), indent=2) if fmt == "json" else render_code(info))
        return
    entries = catalog.search(search) if search else list(catalog)
    if fmt == "json":
        click.echo(json.dumps([asdict(i) for i in entries], indent=2))
        return
    for info in entries:
        click.echo(f"{info.code}  {info.name:<42} {info.component.replace('_', ' ')}")


#: hand-written and generated notes the shipped model is trained on (never dev or holdout)
DEFAULT_TRAINING = (
    "corpus/train.jsonl",
    "corpus/tune.jsonl",
    "corpus/tune2a.jsonl",
    "corpus/tune2b.jsonl",
    "corpus/tune3.jsonl",
    "corpus/tune4a.jsonl",
    "corpus/tune4b.jsonl",
    "corpus/tune5a.jsonl",
    "corpus/tune5b.jsonl",
    "corpus/tune6a.jsonl",
    "corpus/tune6b.jsonl",
    "corpus/tune7a.jsonl",
    "corpus/tune7b.jsonl",
    "corpus/tune8.jsonl",
    "corpus/tune9a.jsonl",
    "corpus/tune9b.jsonl",
    "corpus/tune10a.jsonl",
    "corpus/tune10b.jsonl",
    "corpus/tune11a.jsonl",
    "corpus/tune11b.jsonl",
    "corpus/tune12a.jsonl",
    "corpus/tune12b.jsonl",
    "corpus/tune13a.jsonl",
    "corpus/tune13b.jsonl",
    "corpus/tune14a.jsonl",
    "corpus/tune14b.jsonl",
    "corpus/tune15a.jsonl",
    "corpus/tune15b.jsonl",
    "corpus/tune16a.jsonl",
    "corpus/tune16b.jsonl",
    "corpus/tune17a.jsonl",
    "corpus/tune17b.jsonl",
)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the full report (with every error) as JSON.")
@click.option(
    "--baseline",
    type=click.Choice(["keyword"]),
    default=None,
    help="Also score the keyword-rule code baseline on the same notes.",
)
def evaluate(path: str, as_json: bool, baseline: str | None) -> None:
    """Measure items and code suggestions against a labelled JSONL file (ANNOTATION.md format).

    Example: cdt-nlp evaluate corpus/dev.jsonl --baseline keyword
    """
    from .checker import Checker
    from .evaluate import evaluate_codes, evaluate_items, format_code_report, format_report, read_labelled

    try:
        notes = read_labelled(path)
        checker = Checker()
    except (CdtError, OSError) as exc:
        fail(exc.message if isinstance(exc, CdtError) else f"Cannot read '{path}': {exc.strerror}")
        return
    items = evaluate_items(notes, checker)
    codes = evaluate_codes(notes, checker) if checker.suggester is not None else None
    base = evaluate_codes(notes, checker, baseline=baseline) if baseline else None
    if as_json:
        out = {"items": items.to_dict()}
        if codes is not None:
            out["codes"] = codes.to_dict()
        if base is not None:
            out["baseline"] = {"name": baseline, **base.to_dict()}
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(format_report(items))
    if codes is not None:
        click.echo("")
        click.echo(format_code_report(codes))
    else:
        click.echo("\n(no code-suggester model installed: run `cdt-nlp train`)")
    if base is not None:
        click.echo("")
        click.echo(format_code_report(base, title=f"Baseline ({baseline})"))


def training_options(default_corpora: str, out: str, out_help: str):
    """The options every training command takes: --corpus (repeatable), --out and --seed."""

    def wrap(command):
        command = click.option("--seed", type=int, default=0, show_default=True)(command)
        command = click.option(
            "--out", type=click.Path(file_okay=False), default=out, show_default=True, help=out_help
        )(command)
        return click.option(
            "--corpus",
            "corpora",
            multiple=True,
            type=click.Path(dir_okay=False, exists=True),
            help=f"Labelled JSONL file(s) to train on (repeatable). Default: {default_corpora}.",
        )(command)

    return wrap


@main.command()
@training_options("the project's training corpora", "models/suggester", "Folder for the model file and its manifest.")
def train(corpora: tuple[str, ...], out: str, seed: int) -> None:
    """Train the code suggester and write it with a checksummed manifest.

    Example: cdt-nlp train --corpus corpus/train.jsonl --out models/suggester
    """
    from .training import train_from_files

    paths = [Path(p) for p in (corpora or [p for p in DEFAULT_TRAINING if Path(p).is_file()])]
    manifest = _run_training(train_from_files, paths, out, seed)
    cv = manifest["cv_scores"]
    click.echo(f"Trained on {manifest['notes']} notes from {', '.join(manifest['corpus_files'])}")
    click.echo(
        f"Cross-validated: top-1 {cv['top1']:.3f}, top-3 {cv['top3']:.3f}, Brier {cv['brier']:.3f}, "
        f"mismatch F1 {cv['mismatch']['f1']:.3f} at threshold {cv['threshold']:.2f}, "
        f"target floor {cv.get('target_floor', 0.0):.2f}"
    )
    click.echo(f"Wrote {out}/{manifest['model_file']} and {out}/manifest.json")


def _run_training(train_from_files, paths: list[Path], out: str, seed: int) -> dict:
    """Train with ``train_from_files(paths, out, seed=...)`` and return the manifest; a missing or
    unusable corpus exits with a clear error."""
    if not paths:
        fail("No training corpus given and none found; pass --corpus FILE.jsonl.")
    try:
        return train_from_files(paths, Path(out), seed=seed)
    except CdtError as exc:
        fail(exc.message)


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


@main.command("train-items")
@training_options(
    "the hand-written tune sets, corpus/tune*.jsonl",
    "models/sentence_items",
    "Folder for the arrays and their manifest.",
)
def train_items(corpora: tuple[str, ...], out: str, seed: int) -> None:
    """Train the sentence classifier that finds items written without the rules' words.

    Example: cdt-nlp train-items --out models/sentence_items
    """
    from .sentence_items import train_from_files as train_items_from_files

    paths = [Path(p) for p in corpora] or sorted(Path("corpus").glob("tune*.jsonl"), key=_natural)
    manifest = _run_training(train_items_from_files, paths, out, seed)
    click.echo(f"Trained on {manifest['notes']} notes from {len(manifest['corpus_files'])} files")
    thresholds = ", ".join(f"{item} {t:.2f}" for item, t in manifest["thresholds"].items())
    click.echo(f"Items and thresholds: {thresholds}")
    click.echo(f"Wrote {out}/{manifest['arrays_file']} and {out}/manifest.json")


if __name__ == "__main__":  # pragma: no cover
    main()


def _frequency_overrides(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for value in values:
        code, sep, days = value.partition("=")
        if not sep or not days.strip().isdigit():
            fail(f"--frequency takes CODE=DAYS, like D0367=180 (got '{value}').")
        try:
            out[Catalog.default().get(code.strip()).code] = int(days)
        except CdtError as exc:
            fail(exc.message)
    return out


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, help="Results file: .csv, .jsonl, .parquet or .xlsx (- for JSONL).")
@click.option("--id-col", default=None, help="Column with the note id (default 'id'; row number when absent).")
@click.option("--text-col", default="text", show_default=True, help="Column with the note text.")
@click.option("--code-col", default="code", show_default=True, help="Column with the target CDT code.")
@click.option("--patient-col", default=None, help="Column with the patient id (enables claim rules).")
@click.option("--date-col", default=None, help="Column with the date of service (YYYY-MM-DD or MM/DD/YYYY).")
@click.option("--provider-col", default=None, help="Column with the billing provider (credential after a comma).")
@click.option("--role-col", default=None, help="Column with the provider's role (dentist, hygienist, assistant).")
@click.option("--frequency", multiple=True, metavar="CODE=DAYS", help="Override a code's frequency window.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes (default: all cores).")
@click.option("--report", type=click.Path(dir_okay=False), default=None, help="Also write an HTML summary report.")
@click.option("--include-text", is_flag=True, help="Put note text in the report's lowest-scoring list.")
@click.option("--resume", is_flag=True, help="Continue an interrupted .jsonl/.csv run where it stopped.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None, help="Exit 1 when any note scores below.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary line.")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; dask: a Dask cluster (pip install 'cdt-nlp[dask]').",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (default: start a local cluster).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None, help="Local Dask cluster worker processes.")
def audit(
    input_path: str,
    output: str,
    id_col: str | None,
    text_col: str,
    code_col: str,
    patient_col: str | None,
    date_col: str | None,
    provider_col: str | None,
    role_col: str | None,
    frequency: tuple[str, ...],
    jobs: int | None,
    report: str | None,
    include_text: bool,
    resume: bool,
    fail_under: float | None,
    quiet: bool,
    engine: str,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Audit every note of an export (CSV, JSONL, Parquet or Excel) into a results file.

    Every input row gets exactly one output row, in input order, with `status` ok or error;
    a bad row never stops the batch. Claim-level rules run when patient/date/provider columns
    are given.

    Example: cdt-nlp audit notes.csv -o results.csv --report report.html
    """
    from .audit import AuditInputError, AuditOptions
    from .audit import audit as run_audit

    options = AuditOptions(
        id_col=id_col or "id",
        id_col_given=id_col is not None,
        text_col=text_col,
        code_col=code_col,
        patient_col=patient_col,
        date_col=date_col,
        provider_col=provider_col,
        role_col=role_col,
        jobs=jobs,
        resume=resume,
        quiet=quiet,
        report=report,
        include_text=include_text,
        frequency_days=_frequency_overrides(frequency),
        fail_under=fail_under,
    )
    show = not quiet and sys.stderr.isatty()

    def progress(total: int | None):
        from tqdm import tqdm

        return tqdm(total=total, unit=" notes", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    try:
        if engine == "dask":
            from .audit.dask_engine import audit_dask

            summary = audit_dask(input_path, output, options, scheduler=scheduler, workers=workers)
        else:
            summary = run_audit(input_path, output, options, progress=progress if show else None)
    except (AuditInputError, CdtError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        where = " Run again with --resume to continue." if output != "-" else ""
        click.echo(f"Interrupted; the partial output is kept as {output}.part.{where}", err=True)
        sys.exit(130)
    if not quiet:
        mean = f"{summary.mean_score:.1f}" if summary.mean_score is not None else "-"
        resumed = f" (resumed after {summary.resumed_rows})" if summary.resumed_rows else ""
        click.echo(
            f"Audited {summary.rows} notes{resumed}: {summary.ok} ok, {summary.errors} errors, mean score {mean}, "
            f"{summary.mismatches} code mismatches, {summary.claim_warnings} with claim warnings -> {output}",
            err=True,
        )
        if summary.worker_peak_mb:
            peaks = sorted(summary.worker_peak_mb.values())
            click.echo(
                f"Dask workers' peak memory: {peaks[-1]:.0f} MB at most, {peaks[0]:.0f} MB at least "
                f"({len(peaks)} workers)",
                err=True,
            )
    if fail_under is not None and summary.below:
        sys.exit(1)


def _serve_processes(host: str, port: int, token: str | None, workers: int) -> None:
    """Run ``workers`` server processes on one listening socket (uvicorn's supervisor)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if token:  # each worker process builds its app (and loads the model once) from the environment
        os.environ["CDT_NLP_TOKEN"] = token
    config = uvicorn.Config(
        "cdt_nlp.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
    )
    # the listening socket is made here, as TCP explicitly: asyncio only turns Nagle off
    # (TCP_NODELAY) on connections of such a socket, and without it every response waits ~40 ms
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail(f"Cannot listen on {host}:{port}: {exc.strerror}.")
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--token",
    envvar="CDT_NLP_TOKEN",
    default=None,
    help="Require this token on every request (env CDT_NLP_TOKEN); needed for any non-loopback address.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes, each with its own copy of the model (more serve more billers at once).",
)
def serve(host: str, port: int, token: str | None, workers: int) -> None:
    """Start the local web page for billers (paste a note, see the score, evidence and fixes).

    Example: cdt-nlp serve   then open http://127.0.0.1:8000
    """
    import ipaddress
    import logging

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token:
        fail(f"Binding to {host} exposes notes to the network: pass --token (or set CDT_NLP_TOKEN) to require one.")
    import uvicorn

    from .web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    where = f"http://{host}:{port}/" + ("?token=<your token>" if token else "")
    if workers > 1:
        click.echo(f"cdt-nlp is serving on {where} with {workers} workers  (Ctrl-C to stop)", err=True)
        _serve_processes(host, port, token, workers)
        return
    app = create_app(token=token)
    click.echo(f"cdt-nlp is serving on {where}  (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")

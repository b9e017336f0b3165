"""The local web app for billers: paste a note, see the score, the evidence and the fixes.

``cdt-nlp serve`` runs :func:`create_app` with uvicorn on 127.0.0.1. The page and its script
are served by the package (no CDN, no internet); the JSON API behind it is

- ``GET /api/codes``: the catalog (code, name, description, keywords);
- ``POST /api/check``: ``{"note": ..., "code": ...}`` -> exactly ``Checker.check(...).to_dict()``;
- ``POST /api/audit``: a CSV/Excel export (up to 5,000 rows) -> a zip with ``results.csv`` and
  ``report.html``, from the batch-audit engine;

with its OpenAPI schema at ``/openapi.json``. Safe by default: a token is required for every
request when one is set (and ``serve`` refuses a non-loopback address without one); request
bodies are size-limited before they are read (413); note text is never logged and uploads are
deleted when the response is built; security headers forbid inline script, framing and
referrers. The checker (pipeline and verified model) is loaded once, when the app is created.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import logging
import os
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..errors import CdtError

#: a note larger than this is refused with 413 (1 MB)
MAX_NOTE_BYTES = 1_000_000
#: an upload larger than this is refused with 413 (50 MB)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: rows accepted in one upload from the page
MAX_UPLOAD_ROWS = 5_000
TOKEN_COOKIE = "cdt_token"
TOKEN_HEADER = "x-cdt-token"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' blob:; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

log = logging.getLogger("cdt_nlp.web")


class CheckRequest(BaseModel):
    """A note and the code the biller means to submit."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(description="The chart note text (at most 1 MB).")
    code: str = Field(description="Target CDT code: D0370, d0370 or 0370.", max_length=16)


class CodeEntry(BaseModel):
    code: str
    name: str
    description: str
    keywords: list[str]


class ErrorBody(BaseModel):
    detail: str


ERRORS = {
    400: {"model": ErrorBody, "description": "Bad input (empty or binary note)"},
    401: {"model": ErrorBody, "description": "Missing or wrong token"},
    413: {"model": ErrorBody, "description": "Body too large"},
}


def _static(name: str) -> Path:
    return Path(str(resources.files("cdt_nlp.web").joinpath("static", name)))


def create_app(
    checker: Any = None,
    token: str | None = None,
    max_note_bytes: int = MAX_NOTE_BYTES,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_upload_rows: int = MAX_UPLOAD_ROWS,
) -> FastAPI:
    """The web app. ``checker=None`` loads the default :class:`Checker` (with the shipped model)."""
    if checker is None:
        from ..checker import Checker

        checker = Checker()
    app = FastAPI(
        title="cdt-nlp",
        summary="Check a dental chart note against the documentation checklist of a CDT imaging code.",
        version=_version(),
        docs_url=None,  # the interactive docs pull scripts from a CDN: the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.checker = checker
    lock = asyncio.Lock()  # one check at a time per process: the pipeline is CPU-bound

    @app.middleware("http")
    async def guard(request: Request, call_next):
        limit = max_upload_bytes if request.url.path == "/api/audit" else max_note_bytes + 64 * 1024
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response: Response = JSONResponse({"detail": f"Request body over {limit:,} bytes."}, status_code=413)
        elif token is not None and not _authorised(request, token):
            if request.url.path == "/" and hmac.compare_digest(request.query_params.get("token", ""), token):
                response = RedirectResponse("/", status_code=303)  # drop the token from the address bar
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            else:
                response = JSONResponse({"detail": "Missing or wrong token."}, status_code=401)
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        log.info("%s %s %s", request.method, request.url.path, response.status_code)  # never the body
        return response

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(_static("index.html"), media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in {"app.js", "app.css"}:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(_static(name), media_type=media)

    @app.get("/api/codes", response_model=list[CodeEntry], responses={401: ERRORS[401]})
    async def codes() -> list[dict[str, Any]]:
        """The catalog's imaging codes, for the code picker."""
        return [
            {"code": i.code, "name": i.name, "description": i.description, "keywords": list(i.keywords)}
            for i in checker.catalog
        ]

    @app.post("/api/check", responses={**ERRORS, 422: {"model": ErrorBody, "description": "Unknown code"}})
    async def check(body: CheckRequest) -> dict[str, Any]:
        """Score a note against a code: exactly ``Checker.check(note, code).to_dict()``."""
        try:
            info = checker.catalog.get(body.code)
        except CdtError as exc:
            return JSONResponse({"detail": exc.message}, status_code=422)
        if len(body.note.encode("utf-8", "surrogatepass")) > max_note_bytes:
            return JSONResponse({"detail": f"The note is over {max_note_bytes:,} bytes."}, status_code=413)
        async with lock:
            try:
                result = await asyncio.to_thread(checker.check, body.note, info.code)
            except CdtError as exc:
                return JSONResponse({"detail": exc.message}, status_code=400)
        # already plain JSON types: skip FastAPI's recursive re-encoding of the result
        return JSONResponse(result.to_dict())

    @app.post(
        "/api/audit",
        responses={**ERRORS, 200: {"content": {"application/zip": {}}, "description": "results.csv + report.html"}},
        response_class=Response,
    )
    async def audit(
        file: UploadFile = File(description="A .csv or .xlsx export, up to 5,000 rows."),  # noqa: B008
        text_col: str = Form("text"),
        code_col: str = Form("code"),
        id_col: str | None = Form(None),
    ) -> Response:
        """Audit a small export; returns a zip with the results (CSV) and the HTML report."""
        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            return JSONResponse({"detail": "Upload a .csv or .xlsx file."}, status_code=400)
        async with lock:
            return await asyncio.to_thread(
                _audit_upload, file, suffix, text_col, code_col, id_col or None, max_upload_rows, max_upload_bytes
            )

    return app


def _audit_upload(file: UploadFile, suffix, text_col, code_col, id_col, max_rows, max_bytes) -> Response:
    from ..audit import AuditInputError, AuditOptions, audit
    from ..audit.io import open_reader

    with tempfile.TemporaryDirectory(prefix="cdt-upload-") as tmp:  # deleted when the response is built
        src = Path(tmp) / ("upload" + suffix)
        size = 0
        with src.open("wb") as fh:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    return JSONResponse({"detail": f"Upload over {max_bytes:,} bytes."}, status_code=413)
                fh.write(chunk)
        try:
            reader = open_reader(str(src))
            try:
                rows = sum(1 for _ in reader.rows())
            finally:
                reader.close()
            if rows > max_rows:
                return JSONResponse(
                    {"detail": f"The file has {rows:,} rows; the page takes up to {max_rows:,}. Use `cdt-nlp audit`."},
                    status_code=413,
                )
            out, report = Path(tmp) / "results.csv", Path(tmp) / "report.html"
            options = AuditOptions(
                id_col=id_col or "id",
                id_col_given=id_col is not None,
                text_col=text_col,
                code_col=code_col,
                jobs=1,
                report=str(report),
                quiet=True,
            )
            audit(str(src), str(out), options)
        except AuditInputError as exc:
            return JSONResponse({"detail": str(exc).replace(str(src), "the upload")}, status_code=400)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(out, "results.csv")
            zf.write(report, "report.html")
    return Response(
        buf.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="cdt-audit.zip"'},
    )


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return hmac.compare_digest(given.encode(), token.encode())


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("cdt-nlp")
    except Exception:  # noqa: BLE001
        return "0"


def token_from_env() -> str | None:
    return os.environ.get("CDT_NLP_TOKEN") or None


def app_from_env() -> FastAPI:
    """The app for one of several server processes (``cdt-nlp serve --workers N``): the token
    comes from ``CDT_NLP_TOKEN``, the model from the usual place (``CDT_NLP_MODEL``)."""
    return create_app(token=token_from_env())

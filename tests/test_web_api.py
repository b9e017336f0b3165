"""The web app's JSON API: every endpoint, every error, the token, limits, headers, and a fuzz run."""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdt_nlp.checker import Checker
from cdt_nlp.cli import main
from cdt_nlp.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
NOTE = (ROOT / "cdt_nlp" / "examples" / "ultrasound_capture_only.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def shipped(nlp):
    return Checker(nlp=nlp)


@pytest.fixture(scope="module")
def client(shipped):
    return TestClient(create_app(checker=shipped, max_note_bytes=20_000, max_upload_bytes=200_000, max_upload_rows=4))


@pytest.fixture(scope="module")
def guarded(shipped):
    return TestClient(create_app(checker=shipped, token="s3cret"))


def test_api_codes_lists_the_catalog(client):
    res = client.get("/api/codes")
    assert res.status_code == 200
    codes = {c["code"]: c for c in res.json()}
    assert len(codes) == 23 and "D0370" in codes and "ultrasound" in " ".join(codes["D0370"]["keywords"]).lower()


def test_api_check_body_is_exactly_the_checker_result(client, shipped):
    res = client.post("/api/check", json={"note": NOTE, "code": "0370"})
    assert res.status_code == 200
    assert res.json() == json.loads(json.dumps(shipped.check(NOTE, "D0370").to_dict()))
    assert res.json()["mismatch"] is True and res.json()["suggestions"][0]["code"] == "D0386"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"note": "", "code": "D0370"}, 400, "empty"),
        ({"note": "   \n", "code": "D0370"}, 400, "empty"),
        ({"note": "\x00\x01\x02\x03" * 10, "code": "D0370"}, 400, "binary"),
        ({"note": NOTE, "code": "D9999"}, 422, "Unknown code"),
        ({"note": NOTE, "code": "d370"}, 422, "not a CDT code"),
        ({"note": NOTE}, 422, ""),
        ({"note": NOTE, "code": "D0370", "extra": 1}, 422, ""),
        ({"note": 5, "code": "D0370"}, 422, ""),
        ({"note": "x" * 20_001, "code": "D0370"}, 413, "over"),
    ],
)
def test_api_check_errors(client, body, status, needle):
    res = client.post("/api/check", json=body)
    assert res.status_code == status
    assert needle in json.dumps(res.json()["detail"])


def test_api_check_bad_json_is_422(client):
    res = client.post("/api/check", content=b'{"note": "x", ', headers={"content-type": "application/json"})
    assert res.status_code == 422


def test_api_oversized_body_is_413_before_reading(client):
    res = client.post("/api/check", content=b"x" * 200_000, headers={"content-type": "application/json"})
    assert res.status_code == 413


def test_api_security_headers(client):
    for res in (client.get("/"), client.get("/api/codes"), client.post("/api/check", json={})):
        csp = res.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert res.headers["referrer-policy"] == "no-referrer"
        assert res.headers["x-frame-options"] == "DENY"


def test_page_and_assets_are_served_without_inline_script(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text.lower()
    assert "/static/app.js" in html and "http://" not in html and "https://" not in html
    assert "<script>" not in html.replace(" ", "") and "onclick=" not in html
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_openapi_schema_documents_the_api(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/check", "/api/codes", "/api/audit"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 404  # the interactive docs would load a CDN


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-cdt-token": "wrong"}, {"authorization": "Bearer nope"}],
)
def test_token_missing_or_wrong_is_401(guarded, headers):
    assert guarded.get("/api/codes", headers=headers).status_code == 401
    assert guarded.post("/api/check", json={"note": NOTE, "code": "D0370"}, headers=headers).status_code == 401
    assert guarded.get("/", headers=headers).status_code == 401


def test_token_header_bearer_and_cookie_are_accepted(guarded):
    assert guarded.get("/api/codes", headers={"x-cdt-token": "s3cret"}).status_code == 200
    assert guarded.get("/api/codes", headers={"authorization": "Bearer s3cret"}).status_code == 200
    res = guarded.get("/?token=s3cret", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/"
    assert "httponly" in res.headers["set-cookie"].lower()
    guarded.cookies.set("cdt_token", "s3cret")
    try:
        assert guarded.get("/").status_code == 200
    finally:
        guarded.cookies.clear()


def _csv(rows: list[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    out.write("id,text,code\n")
    for r in rows:
        out.write(",".join('"' + v.replace('"', '""') + '"' for v in r) + "\n")
    return out.getvalue().encode()


def test_api_audit_returns_results_and_report_and_deletes_the_upload(client):
    before = set(Path(tempfile.gettempdir()).glob("cdt-upload-*"))
    data = _csv([("a", NOTE, "D0370"), ("b", "", "D0370"), ("c", NOTE, "D0386")])
    res = client.post("/api/audit", files={"file": ("export.csv", data, "text/csv")})
    assert res.status_code == 200 and res.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(res.content))
    assert set(zf.namelist()) == {"results.csv", "report.html"}
    lines = zf.read("results.csv").decode().splitlines()
    assert len(lines) == 4 and lines[1].startswith("0,a,ok") and lines[2].startswith("1,b,error")
    assert 'id="totals"' in zf.read("report.html").decode()
    assert set(Path(tempfile.gettempdir()).glob("cdt-upload-*")) == before


@pytest.mark.parametrize(
    ("name", "data", "fields", "status", "needle"),
    [
        ("notes.txt", b"hello", {}, 400, ".csv or .xlsx"),
        ("export.csv", b"id,body,code\n1,x,D0370\n", {}, 400, "'text' (--text-col) not found"),
        ("export.csv", _csv([("a", NOTE, "D0370")] * 5), {}, 413, "up to 4"),
        ("export.csv", b"id,text,code\n" + b"1,xx,D0370\n" * 30_000, {}, 413, "over"),
        ("export.xlsx", b"not a workbook", {}, 400, "Excel"),
    ],
)
def test_api_audit_errors(client, name, data, fields, status, needle):
    res = client.post("/api/audit", files={"file": (name, data)}, data=fields)
    assert res.status_code == status
    assert needle in res.json()["detail"]


def test_api_audit_custom_columns(client):
    data = b"ClaimID,Note,CDT\nx1," + NOTE.replace("\n", " ").replace(",", ";").encode() + b",D0370\n"
    res = client.post(
        "/api/audit", files={"file": ("e.csv", data)}, data={"text_col": "Note", "code_col": "CDT", "id_col": "ClaimID"}
    )
    assert res.status_code == 200
    rows = zipfile.ZipFile(io.BytesIO(res.content)).read("results.csv").decode().splitlines()
    assert rows[1].startswith("0,x1,ok")


def test_note_text_never_reaches_the_logs(client, caplog):
    secret = "Patient Zebediah Quux has a 7 mm stone in the left submandibular duct."
    with caplog.at_level(logging.DEBUG):
        client.post("/api/check", json={"note": secret, "code": "D0370"})
        client.post("/api/check", json={"note": "", "code": "D0370"})
    assert "Zebediah" not in caplog.text
    assert "/api/check" in caplog.text  # the request itself is logged


def test_serve_refuses_a_public_address_without_a_token():
    res = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"CDT_NLP_TOKEN": ""})
    assert res.exit_code == 2 and "--token" in res.output


def test_serve_with_two_workers_answers_checks_and_requires_the_token(tmp_path):
    """`cdt-nlp serve --workers 2` in a real process: both the page's API and the token rule work."""
    import http.client
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CDT_NLP_TOKEN": "s3cret"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cdt_nlp", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = json.dumps({"note": "IMPRESSION: deferred to OMFR.", "code": "D0370"})
        deadline = time.time() + 90
        status = None
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/api/check", body, {"content-type": "application/json", "x-cdt-token": "s3cret"})
                res = conn.getresponse()
                status, payload = res.status, json.loads(res.read())
                break
            except (ConnectionError, OSError):
                time.sleep(0.5)
        assert status == 200 and payload["items"]["interpretation"]["present"] is False
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/codes")
        assert conn.getresponse().status == 401
    finally:
        server.terminate()
        server.wait(30)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
check_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"note": st.text(max_size=400), "code": st.text(max_size=8)}),
    st.fixed_dictionaries(
        {"note": st.text(max_size=400), "code": st.sampled_from(["D0370", "0364", "d0391", "D0395", "x"])}
    ),
)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=check_bodies)
def test_fuzz_check_never_500(client, body):
    res = client.post("/api/check", json=body)
    assert res.status_code < 500
    assert res.status_code in (200, 400, 413, 422)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=600),
    name=st.sampled_from(["a.csv", "a.xlsx", "a.bin", ""]),
    text_col=st.text(max_size=6),
)
def test_fuzz_audit_never_500(client, data, name, text_col):
    res = client.post("/api/audit", files={"file": (name, data)}, data={"text_col": text_col or "text"})
    assert res.status_code < 500


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_fuzz_raw_bodies_never_500(client, raw):
    res = client.post("/api/check", content=raw, headers={"content-type": "application/json"})
    assert res.status_code < 500

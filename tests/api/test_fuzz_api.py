"""Thousands of random requests to every API endpoint and to the token pages: never a
500, never a change to the data, always a clear answer (JSON errors on /api/).

Random: the method, the path parameters (real ones, other sites', nonsense, huge, control
characters, mixed scripts, URL-encoded junk), query strings with duplicated keys, the
Authorization header (good tokens of several roles, revoked, malformed, huge), bodies of
any content type; on the token pages the fields (wrong types, huge, duplicated), missing
and foreign CSRF tokens, and token ids that do not exist or are not the user's.

The complement of tests/api/test_schemathesis.py (which checks documented answers for
documented inputs) and tests/security/test_fuzz.py (the data-entry forms).
"""
import re
from urllib.parse import quote

from helpers import csrf_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from edc.extensions import db as _db

NASTY = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from(["", " ", "0", "-1", "2147483648", "99999999999999999999", "1e309",
                     "NaN", "٣", "ES01-0001-K", "ES01", "IT01", "full-v1", "DM.csv",
                     "../../etc/passwd", "..%2F..%2Fsecret", "%00", "\x00", "\u202e",
                     "<script>", "' OR 1=1 --", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ا" * 40, "null", "[]",
                     "{}", "true", "manifest.json", "odm.xml", "*", "%", "?", "#"]),
    st.builds(lambda n, chunk: (chunk or "x") * n, st.integers(300, 3000),
              st.text(min_size=1, max_size=4)),
)
# header values travel on one line of latin-1 text
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                             exclude_characters="\x7f"), max_size=300)
METHODS = st.sampled_from(["GET"] * 6 + ["HEAD", "POST", "PUT", "PATCH", "DELETE",
                                         "OPTIONS"])
TEMPLATES = [
    "/api/v1/snapshots", "/api/v1/snapshots/{name}", "/api/v1/snapshots/{name}/zip",
    "/api/v1/snapshots/{name}/files/{filename}", "/api/v1/public-key", "/api/v1/sites",
    "/api/v1/sites/{code}/patients", "/api/v1/patients/{pid}",
    "/api/v1/patients/{pid}/records", "/api/v1/patients/{pid}/records/{rid}",
    "/api/openapi.json", "/api/{junk}", "/api/v1/{junk}/{junk}",
]
API_STATUSES = {200, 401, 403, 404, 405, 409, 429}


def _counts(app):
    """Everything the API and the token pages must never change by accident."""
    from edc.api.models import ApiToken
    from edc.crf.models import FormRecord
    from edc.exports.models import DatabaseLock, Snapshot
    from edc.patients.models import Patient
    from edc.queries.models import Query
    from edc.signing.models import DataLock
    with app.app_context():
        out = {m.__name__: _db.session.scalar(select(func.count()).select_from(m))
               for m in (FormRecord, Patient, Query, DataLock, DatabaseLock, Snapshot,
                         ApiToken)}
        out["revoked"] = _db.session.scalar(select(func.count(ApiToken.id)).where(
            ApiToken.revoked_at.is_not(None)))
        _db.session.remove()
    return out


def test_random_api_requests(app, data, token, client):
    from edc.crf.models import FormRecord
    from edc.patients.models import Patient
    saved = dict(app.config["RATE_LIMITS"])
    # the limits themselves are tested in test_api_limits.py; here every request counts
    app.config["RATE_LIMITS"] = {**saved, "api.ip": (10**6, 60), "api.account": (10**6, 60),
                                 "api.use": (10**6, 60)}
    tokens = {"dm": token("data_manager"), "stat": token("statistician"),
              "inv": token("investigator"), "inv_it": token("investigator", "IT01")}
    with app.app_context():
        rids = [str(r) for r in _db.session.scalars(select(FormRecord.id).join(Patient)
                                                    .limit(3))]
        _db.session.remove()
    real = {"name": [data.snapshot], "filename": ["DM.csv", "odm.xml", "manifest.json"],
            "code": ["ES01", "IT01", "LB01"], "pid": [data.es, data.it],
            "rid": rids, "junk": ["v2", "x"]}
    before = _counts(app)
    statuses = set()

    def param(draw, name):
        if draw(st.booleans()):
            return quote(draw(st.sampled_from(real[name])), safe="")
        return quote(draw(NASTY), safe="")

    @settings(max_examples=600, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data_=st.data(), template=st.sampled_from(TEMPLATES), method=METHODS,
           auth=st.sampled_from(["dm", "stat", "inv", "inv_it", "dm", "none", "garbage",
                                 "bearer-junk", "basic"]),
           query=st.lists(st.tuples(st.sampled_from(["page", "limit", "site", "q", "x",
                                                     "format"]), NASTY), max_size=4),
           body=st.one_of(st.none(), st.binary(max_size=200), NASTY.map(str.encode)),
           ctype=st.sampled_from([None, "application/json", "text/plain",
                                  "application/x-www-form-urlencoded",
                                  "multipart/form-data; boundary=x"]))
    def run(data_, template, method, auth, query, body, ctype):
        path = re.sub(r"\{(\w+)\}", lambda m: param(data_.draw, m.group(1)), template)
        headers = {}
        if auth in tokens:
            headers["Authorization"] = f"Bearer {tokens[auth]}"
        elif auth == "garbage":
            headers["Authorization"] = data_.draw(HEADER_TEXT)
        elif auth == "bearer-junk":
            headers["Authorization"] = "Bearer edc_" + data_.draw(HEADER_TEXT)
        elif auth == "basic":
            headers["Authorization"] = "Basic dXNlcjpwYXNz"
        if ctype:
            headers["Content-Type"] = ctype
        qs = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query)
        r = client.open(path + ("?" + qs if qs else ""), method=method, headers=headers,
                        data=body)
        statuses.add(r.status_code)
        assert r.status_code < 500, (method, path, r.status_code, r.data[:300])
        assert r.status_code in API_STATUSES or r.status_code == 400, \
            (method, path, r.status_code)
        assert b"Traceback" not in r.data
        if method not in ("HEAD", "OPTIONS") and r.status_code >= 400:
            assert r.is_json, (method, path, r.status_code, r.data[:200])
            assert set(r.json) == {"error", "message"} and r.json["message"]
        r.close()

    try:
        run()
    finally:
        app.config["RATE_LIMITS"] = saved
    assert _counts(app) == before, "a read-only API request changed the data"
    assert {200, 401, 404, 405} <= statuses, statuses
    with app.app_context():
        from edc.audit.services import verify
        assert verify().ok
        _db.session.remove()


def test_random_token_page_submissions(app, world, logged_in, token):
    from edc.api.models import ApiToken
    c = logged_in("investigator")
    good_csrf = csrf_token(c)
    token("monitor")  # a token that is not the investigator's
    with app.app_context():
        other_id = _db.session.scalar(select(ApiToken.id))
        _db.session.remove()
    statuses = set()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data_=st.data(), target=st.sampled_from(["create", "create", "revoke"]),
           csrf=st.sampled_from(["good", "good", "good", "missing", "foreign"]),
           fields=st.lists(st.sampled_from(["name", "days", "name", "days", "junk",
                                            "csrf_token"]), max_size=6))
    def run(data_, target, csrf, fields):
        form = MultiDict()
        for name in fields:  # duplicated names on purpose
            form.add(name, data_.draw(st.one_of(NASTY, st.integers(-10**12, 10**12)
                                                .map(str))))
        if csrf == "good":
            form.setlist("csrf_token", [good_csrf])
        elif csrf == "foreign":
            form.setlist("csrf_token", ["IjAwMDAi.Zz0000.forged"])
        elif "csrf_token" in form:
            del form["csrf_token"]
        before = _counts(app)
        if target == "create":
            r = c.post("/account/api-tokens/", data=form)
        else:
            tid = data_.draw(st.one_of(st.sampled_from([other_id, 0, 2**31, 10**20]),
                                       st.integers(1, 50)))
            r = c.post(f"/account/api-tokens/{tid}/revoke", data=form)
        statuses.add(r.status_code)
        body = r.get_data(as_text=True)
        assert r.status_code < 500, (target, r.status_code, body[:300])
        assert "Traceback" not in body
        after = _counts(app)
        if target == "create" and r.status_code == 200:
            assert "shown only once" in body
            assert after["ApiToken"] == before["ApiToken"] + 1
            assert {k: v for k, v in after.items() if k != "ApiToken"} == \
                {k: v for k, v in before.items() if k != "ApiToken"}
        elif target == "revoke" and r.status_code == 302:
            assert after["revoked"] == before["revoked"] + 1
        else:
            assert r.status_code in (400, 404, 409, 422), (target, r.status_code)
            assert after == before, "a refused submission changed the database"
            assert re.search(r'class="(flash error|error)"', body) or \
                r.status_code in (400, 404, 409), body[:500]

    run()
    assert {200, 400, 422} <= statuses, statuses
    with app.app_context():
        from edc.audit.services import verify
        assert _db.session.get(ApiToken, other_id).revoked_at is None  # not the user's
        assert verify().ok
        _db.session.remove()


def test_what_the_fuzz_found(app, data, token, client, logged_in):
    """Regressions: NUL in a path parameter (PostgreSQL refuses it: was a 503), ids
    beyond the database's integers (was a 500 on SQLite, a 503 on PostgreSQL), and
    routing refusals under /api/ (were HTML pages)."""
    h = {"Authorization": f"Bearer {token('data_manager')}"}
    for path in ("/api/v1/snapshots/%00", "/api/v1/sites/E%00/patients",
                 "/api/v1/patients/%00/records", f"/api/v1/snapshots/{data.snapshot}/files/%00",
                 f"/api/v1/patients/{data.es}/records/99999999999", "/api/", "/api"):
        r = client.get(path, headers=h)
        assert r.status_code == 404 and r.is_json, path
    r = client.delete("/api/v1/sites", headers=h)
    assert r.status_code == 405 and r.is_json and "GET" in r.headers["Allow"]
    from helpers import post
    c = logged_in("investigator")
    assert post(c, "/account/api-tokens/99999999999/revoke", {}).status_code == 404

"""The read-only JSON API: tokens, scoping like the screens, snapshots, OpenAPI."""
import hashlib
import json
from datetime import timedelta

import pytest
from helpers import post
from sqlalchemy import select, update

from edc.api.models import ApiToken
from edc.audit.models import AuditEvent


def H(tok):
    return {"Authorization": f"Bearer {tok}"}


def test_token_shown_once_stored_hashed(app, client, world, logged_in):
    c = logged_in("investigator")
    r = post(c, "/account/api-tokens/", {"name": "R scripts", "days": "30"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "shown only once" in html
    import re
    tok = re.search(r"(edc_[A-Za-z0-9_-]{40,})", html).group(1)
    with app.app_context():
        from edc.extensions import db
        row = db.session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(tok.encode()).hexdigest()
        assert tok not in json.dumps([row.name, row.prefix, row.token_hash])
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "api.token.create")).one().new_value.find(tok) < 0
    page = c.get("/account/api-tokens/").get_data(as_text=True)
    assert tok not in page and row.prefix in page
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 200


def test_bad_expired_revoked_tokens_are_401(app, client, world, token, logged_in):
    assert client.get("/api/v1/sites").status_code == 401
    r = client.get("/api/v1/sites", headers=H("edc_not-a-real-token"))
    assert r.status_code == 401 and r.is_json and r.json["error"] == "unauthorized"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert client.get("/api/v1/sites", headers={"Authorization": "Basic abc"}) \
        .status_code == 401
    tok = token("investigator")
    with app.app_context():
        from edc.db import utcnow
        from edc.extensions import db
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(
            seconds=1)))
        db.session.commit()
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 401
    tok2 = token("investigator")
    assert client.get("/api/v1/sites", headers=H(tok2)).status_code == 200
    c = logged_in("investigator")
    with app.app_context():
        from edc.extensions import db
        tid = db.session.scalars(select(ApiToken.id).where(ApiToken.revoked_at.is_(None),
                                                           ApiToken.expires_at > utcnow())
                                 ).one()
    assert post(c, f"/account/api-tokens/{tid}/revoke", {}).status_code == 302
    assert client.get("/api/v1/sites", headers=H(tok2)).status_code == 401


def test_disabled_user_token_is_401(app, client, world, token):
    tok = token("monitor")
    with app.app_context():
        from edc.auth.models import User
        from edc.extensions import db
        db.session.execute(update(User).where(User.email.like("monitor.es01%"))
                           .values(active=False))
        db.session.commit()
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 401


def test_scoped_like_the_screens(app, client, data, token):
    tok = token("investigator")
    sites = client.get("/api/v1/sites", headers=H(tok)).json["sites"]
    assert [s["code"] for s in sites] == ["ES01"]
    pts = client.get("/api/v1/sites/ES01/patients", headers=H(tok)).json["patients"]
    assert [p["pseudonym"] for p in pts] == [data.es]
    assert set(pts[0]) == {"pseudonym", "site", "status", "sex", "birth_year",
                           "registered_on", "enrolled_on"}
    # another site's data: 404, never 403
    assert client.get("/api/v1/sites/IT01/patients", headers=H(tok)).status_code == 404
    assert client.get(f"/api/v1/patients/{data.it}", headers=H(tok)).status_code == 404
    r = client.get(f"/api/v1/patients/{data.it}/records", headers=H(tok))
    assert r.status_code == 404 and r.json["error"] == "not_found"
    recs = client.get(f"/api/v1/patients/{data.es}/records", headers=H(tok)).json["records"]
    assert recs and {"values", "missing", "status", "open_queries", "sdv_verified",
                     "visit_signed", "frozen"} <= set(recs[0])
    assert all(r["visit_signed"] for r in recs)
    one = client.get(f"/api/v1/patients/{data.es}/records/{recs[0]['id']}",
                     headers=H(tok)).json
    assert one == recs[0]
    it_rec = client.get(f"/api/v1/patients/{data.it}/records",
                        headers=H(token("investigator", "IT01"))).json["records"][0]
    assert client.get(f"/api/v1/patients/{data.es}/records/{it_rec['id']}",
                      headers=H(tok)).status_code == 404


def test_statistician_sees_snapshots_only(app, client, data, token):
    tok = token("statistician")
    assert client.get("/api/v1/sites", headers=H(tok)).status_code == 403
    assert client.get(f"/api/v1/patients/{data.es}", headers=H(tok)).status_code == 404
    snaps = client.get("/api/v1/snapshots", headers=H(tok)).json["snapshots"]
    assert [s["name"] for s in snaps] == [data.snapshot] and snaps[0]["locked"] is True
    detail = client.get(f"/api/v1/snapshots/{data.snapshot}", headers=H(tok)).json
    assert {"DM.csv", "odm.xml", "DM.sav"} <= {f["path"] for f in detail["files"]}
    r = client.get(f"/api/v1/snapshots/{data.snapshot}/files/DM.csv", headers=H(tok))
    assert r.status_code == 200 and r.data.startswith(b"SUBJID,SITEID")
    r.close()
    entry = next(f for f in detail["files"] if f["path"] == "DM.csv")
    assert hashlib.sha256(r.data).hexdigest() == entry["sha256"]
    z = client.get(f"/api/v1/snapshots/{data.snapshot}/zip", headers=H(tok))
    assert z.status_code == 200 and z.data[:2] == b"PK"
    assert client.get("/api/v1/snapshots/nothing-v9", headers=H(tok)).status_code == 404
    with app.app_context():
        from edc.extensions import db
        vias = [json.loads(e.new_value)["via"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.download"))]
    assert vias == ["api", "api"]
    assert client.get("/api/v1/public-key", headers=H(tok)).data.startswith(b"-----BEGIN")


def test_investigator_has_no_snapshots(app, client, data, token):
    assert client.get("/api/v1/snapshots", headers=H(token("investigator"))) \
        .status_code == 403
    assert client.get(f"/api/v1/snapshots/{data.snapshot}",
                      headers=H(token("investigator"))).status_code == 404


def test_openapi_document(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.") and "/api/v1/patients/{pid}/records" in \
        doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["components"]["schemas"]["Record"]["required"]


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/v2/whatever")
    assert r.status_code == 404 and r.is_json


def test_api_needs_no_csrf_but_pages_do(app, client, world, logged_in, token):
    tok = token("investigator")
    r = client.post("/api/v1/sites", headers=H(tok))
    assert r.status_code == 405          # read-only, and not a CSRF refusal (400)
    c = logged_in("investigator")
    r = c.post("/account/api-tokens/", data={"name": "x", "days": "3"})
    assert r.status_code == 400          # no CSRF token on a page form


@pytest.mark.parametrize("days", ["0", "366", "abc"])
def test_token_validity_is_bounded(app, world, logged_in, days):
    c = logged_in("investigator")
    r = post(c, "/account/api-tokens/", {"name": "x", "days": days})
    assert r.status_code == 422 and "shown only once" not in r.get_data(as_text=True)
    with app.app_context():
        from edc.extensions import db
        assert db.session.scalars(select(ApiToken)).first() is None

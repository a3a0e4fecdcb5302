"""Thousands of random submissions to every data-entry form: never a 500, never a
partial save, always a clear answer."""
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from helpers import csrf_token, register_patient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from edc.audit.models import AuditEvent
from edc.crf.catalog import catalog
from edc.crf.models import FormRecord

NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "٣٨٫٥", "38,5", "2026-02-30",
                     "2026-13-01T25:61", "true", "yes", "\x00", "\u202e", "<script>",
                     "' OR 1=1 --", "ES01-0001-K", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ا" * 50]),
    st.builds(lambda n, chunk: (chunk or "x") * n, st.integers(500, 4000),
              st.text(min_size=1, max_size=5)),
)


def _targets(app):
    with app.app_context():
        cat = catalog()
        out = []
        for v in cat.schedule.visits:
            for oid in v.forms:
                if (oid, v.code) not in [(o, c) for c, o, _ in out]:
                    out.append((v.code, oid, cat.forms[oid]))
        out += [("LOG", oid, cat.forms[oid]) for oid in cat.schedule.log_forms]
        seen, unique = set(), []
        for code, oid, form in out:
            if oid not in seen:
                seen.add(oid)
                unique.append((code, oid, [i.name for i in form.entered]))
        return unique


def _counts(app):
    with app.app_context():
        from edc.extensions import db
        return (db.session.scalar(select(func.count(FormRecord.id))),
                db.session.scalar(select(func.count(AuditEvent.id))))


def test_random_submissions_never_500_never_partial(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    token = csrf_token(c)
    targets = _targets(app)
    statuses = set()

    @settings(max_examples=1000, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(target=st.sampled_from(targets), data=st.data(),
           csrf=st.sampled_from(["good", "good", "good", "missing", "foreign"]),
           action=st.sampled_from(["save", "complete", "", "delete", "x" * 300]))
    def run(target, data, csrf, action):
        visit, oid, items = target
        fields = data.draw(st.lists(st.sampled_from(items + ["row_version", "reason",
                                                            items[0] + "__mc", "junk"]),
                                    max_size=12))
        form = MultiDict()
        for name in fields:  # duplicated names are allowed on purpose
            form.add(name, data.draw(NASTY))
        if csrf == "good":
            form["csrf_token"] = token
        elif csrf == "foreign":
            form["csrf_token"] = "IjAwMDAi.Zz0000.forged"
        form["action"] = action
        before = _counts(app)
        r = c.post(f"/patients/{pid}/forms/{visit}/{oid}", data=form)
        statuses.add(r.status_code)
        assert r.status_code != 500 and r.status_code < 500 or r.status_code == 503
        assert r.status_code in (302, 400, 403, 404, 409, 413, 422), r.status_code
        if r.status_code != 302:
            assert _counts(app) == before, "a refused submission changed the database"
            body = r.get_data(as_text=True)
            assert "Traceback" not in body
            assert re.search(r'class="(flash error|error)"', body) or r.status_code in (
                400, 404, 409, 413), body[:500]

    run()
    assert 302 in statuses and 422 in statuses and 400 in statuses

"""Faults between the data write and the audit write: everything is one transaction, so a
crash after the data row was written and before (or even after) its audit rows leaves
neither — through the real pages, on SQLite and PostgreSQL.

Two kinds of crash for each write path:

- ``python``: the audit function the service calls writes its rows, then raises (a bug,
  a killed worker thread): the unexpected-error page (500, "Nothing was saved"), no
  traceback;
- ``database``: the database fails at the ``INSERT INTO audit_event`` that follows the
  data write (a connection lost mid-transaction): the 503 page, no traceback.

Afterwards nothing of the failed write is in the database, the audit chain verifies, and
the same write succeeds normally, audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from helpers import post, register_patient
from mon_support import DM, actor, patient, save
from sqlalchemy import event, func, select

from edc.audit.models import AuditEvent, AuditHead
from edc.audit.services import verify
from edc.extensions import db as _db


@dataclass
class Path:
    name: str
    role: str
    module: str            # the service module whose audit function crashes
    function: str          # the name the service calls it by
    data_table: str        # the data write that must come first
    setup: Callable        # app -> context dict
    request: Callable      # (client, ctx) -> response
    state: Callable        # ctx -> comparable snapshot of the data (in an app context)
    done: Callable         # (ctx, state) -> True when the write is in the database


# ---------------------------------------------------------------- the write paths
def _setup_patient(app):
    return {"pid": register_patient(app)}


def _crf_state(ctx):
    from edc.crf.models import FormRecord
    return [(r.id, r.row_version, r.status, dict(r.values)) for r in _db.session.scalars(
        select(FormRecord).order_by(FormRecord.id))]


def _setup_record(app):
    pid = register_patient(app)
    with app.app_context():
        rid = save(pid, "SCR", "DM", DM, complete=False).record.id
        _db.session.remove()
    return {"pid": pid, "rid": rid}


def _patients_state(ctx):
    from edc.patients.models import Patient
    from edc.sites.models import Site
    return ([p.pseudonym for p in _db.session.scalars(select(Patient).order_by(Patient.id))],
            _db.session.scalar(select(Site.patient_seq).where(Site.code == "ES01")))


def _setup_query(app):
    from edc.queries import services as queries
    pid = register_patient(app)
    with app.app_context():
        rec = save(pid, "SCR", "DM", DM).record
        qid = queries.raise_query(actor("monitor"), patient(pid), rec, "WEIGHT",
                                  "Please check the weight.").id
        _db.session.remove()
    return {"pid": pid, "qid": qid}


def _query_state(ctx):
    from edc.queries.models import Query
    q = _db.session.get(Query, ctx["qid"])
    return q.status, [(m.action, m.text) for m in q.messages]


PATHS = [
    Path("crf.create", "investigator", "edc.crf.services", "audit_many", "form_record",
         _setup_patient,
         lambda c, x: post(c, f"/patients/{x['pid']}/forms/SCR/DM",
                           dict(DM, action="save")),
         _crf_state, lambda x, s: len(s) == 1 and str(s[0][3]["WEIGHT"]) == "22.5"),
    Path("crf.update", "investigator", "edc.crf.services", "audit_many", "form_record",
         _setup_record,
         lambda c, x: post(c, f"/patients/{x['pid']}/records/{x['rid']}",
                           dict(DM, WEIGHT="24.5", action="save", row_version="1")),
         _crf_state, lambda x, s: s[0][1] == 2 and str(s[0][3]["WEIGHT"]) == "24.5"),
    Path("patient.register", "coordinator", "edc.patients.services", "record", "patient",
         lambda app: {},
         lambda c, x: post(c, "/patients/register", {"birth_year": "2016", "sex": "M",
                                                     "registered_on": "2026-03-01"}),
         _patients_state,
         # gap-free: the failed registration gave its number back
         lambda x, s: s[1] == 1 and s[0][0].startswith("ES01-0001-")),
    Path("query.answer", "investigator", "edc.queries.services", "audit", "query",
         _setup_query,
         lambda c, x: post(c, f"/queries/{x['qid']}/answer",
                           {"text": "22.5 kg is right (growth chart)."}),
         _query_state, lambda x, s: s[0] == "answered" and s[1][-1][0] == "answer"),
]


def _audit(app):
    with app.app_context():
        head = _db.session.get(AuditHead, 1)
        out = (_db.session.scalar(select(func.count(AuditEvent.id))), head.seq,
               head.last_hash)
        _db.session.remove()
    return out


def _snapshot(app, path, ctx):
    with app.app_context():
        out = path.state(ctx)
        _db.session.remove()
    return out


# ---------------------------------------------------------------- crash injections
def _python_crash(app, monkeypatch, path):
    """The audit function writes its rows, the session flushes them, then it raises."""
    import importlib
    module = importlib.import_module(path.module)
    original = getattr(module, path.function)
    seen = {}

    def crashing(*args, **kwargs):
        out = original(*args, **kwargs)
        _db.session.flush()
        # inside the request's transaction, the data and audit rows are written
        seen["audit_rows"] = _db.session.scalar(select(func.count(AuditEvent.id)))
        raise RuntimeError("simulated crash between the data write and the commit")
    monkeypatch.setattr(module, path.function, crashing)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    return seen


def _database_crash(app, monkeypatch, path):
    """The database fails at the first audit INSERT that follows the data write."""
    with app.app_context():
        engine = _db.engine
        dialect = engine.dialect.name
    seen = {"statements": []}

    def listener(conn, cursor, statement, params, context, executemany):
        s = " ".join(statement.split()).lower()
        seen["statements"].append(s[:60])
        if s.startswith("insert into audit_event"):
            seen["crashed_after"] = list(seen["statements"])
            if dialect == "postgresql":
                import psycopg
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            import sqlite3
            raise sqlite3.OperationalError("disk I/O error")
    event.listen(engine, "before_cursor_execute", listener)
    seen["remove"] = lambda: event.remove(engine, "before_cursor_execute", listener)
    return seen


# ---------------------------------------------------------------- the test
@pytest.mark.parametrize("crash", ["python", "database"])
@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_crash_between_data_and_audit_leaves_neither(app, logged_in, monkeypatch, path,
                                                     crash):
    ctx = path.setup(app)
    c = logged_in(path.role)
    before_data, before_audit = _snapshot(app, path, ctx), _audit(app)

    if crash == "python":
        seen = _python_crash(app, monkeypatch, path)
        try:
            r = path.request(c, ctx)
        finally:
            monkeypatch.undo()
        assert seen.get("audit_rows", 0) > before_audit[0], \
            "the crash must come after the audit rows were written"
        assert r.status_code == 500
        assert "Nothing was saved" in r.get_data(as_text=True)
    else:
        seen = _database_crash(app, monkeypatch, path)
        try:
            r = path.request(c, ctx)
        finally:
            seen["remove"]()
        written = seen.get("crashed_after")
        assert written, "no audit INSERT was attempted"
        assert any(f"{path.data_table} " in s and s.startswith(("insert", "update"))
                   for s in written), ("the data row must be written before the audit "
                                       "row", written)
        assert r.status_code == 503
        assert "Nothing was saved" in r.get_data(as_text=True)

    body = r.get_data(as_text=True)
    assert "Traceback" not in body and "RuntimeError" not in body
    assert "OperationalError" not in body and "disk i/o" not in body.lower()
    # neither the data nor any audit row of it: the chain head did not move either
    assert _snapshot(app, path, ctx) == before_data
    assert _audit(app) == before_audit
    with app.app_context():
        assert verify().ok
        _db.session.remove()

    # the same write now succeeds, audited, with an intact chain
    r = path.request(c, ctx)
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    after = _snapshot(app, path, ctx)
    assert path.done(ctx, after), after
    assert _audit(app)[0] > before_audit[0]
    with app.app_context():
        result = verify()
        assert result.ok, result
        _db.session.remove()

"""Concurrency on PostgreSQL with threads: one save wins and the other is told, query
transitions never lose a message, and the audit chain never forks."""
import threading

import pytest
from helpers import email_for, register_patient
from sqlalchemy import select

from edc.audit.services import Actor, verify
from edc.extensions import db

DM = {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "22.5", "HEIGHT": "118"}


@pytest.fixture
def pg(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("concurrency is proven on PostgreSQL")
    return app


def _threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return results, errors


def _actor(role, site="ES01"):
    from edc.auth.services import get_user_by_email
    return Actor.of(get_user_by_email(email_for(role, site)), "thread")


def test_two_users_saving_the_same_form_one_wins_nothing_lost(pg, world):
    from edc.crf import services
    from edc.crf.models import FormRecord
    from edc.patients.models import Patient
    pid = register_patient(pg)
    with pg.app_context():
        p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
        out = services.save(_actor("investigator"), p, "SCR", "DM", record_id=None,
                            row_version=None, raw=DM, raw_missing={}, complete=False,
                            reason=None)
        rid, rv = out.record.id, out.record.row_version
        db.session.remove()

    def save(i):
        role = ("investigator", "coordinator")[i]
        with pg.app_context():
            p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
            o = services.save(_actor(role), p, "SCR", "DM", record_id=rid, row_version=rv,
                              raw=dict(DM, WEIGHT=("23", "24")[i]), raw_missing={},
                              complete=False, reason=None)
            db.session.remove()
            return ("saved" if o.saved else "stale" if o.stale else "error",
                    o.stale["name"] if o.stale else None)
    results, errors = _threads(2, save)
    assert not errors
    assert sorted(r[0] for r in results) == ["saved", "stale"]
    with pg.app_context():
        rec = db.session.get(FormRecord, rid)
        winner = "23" if results[0][0] == "saved" else "24"
        assert rec.values["WEIGHT"] == winner and rec.row_version == rv + 1
        loser_saw = [r[1] for r in results if r[0] == "stale"][0]
        assert loser_saw == rec.updated_by_name  # told who changed it
        assert verify().ok


def test_concurrent_query_answers_keep_every_message(pg, world):
    from edc.crf import services
    from edc.patients.models import Patient
    from edc.queries import services as queries
    from edc.queries.models import Query
    pid = register_patient(pg)
    n = 8
    with pg.app_context():
        p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
        rec = services.save(_actor("investigator"), p, "SCR", "DM", record_id=None,
                            row_version=None, raw=DM, raw_missing={}, complete=True,
                            reason=None).record
        ids = [queries.raise_query(_actor("monitor"), p, rec, item, f"Check {item} ({i})").id
               for i, item in enumerate(["WEIGHT", "HEIGHT", "SEX", "BRTHYR"] * 2)]
        db.session.remove()

    def answer(i):
        with pg.app_context():
            p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
            q = db.session.get(Query, ids[i])
            queries.transition(_actor(("investigator", "coordinator")[i % 2]), p, q,
                               "answer", f"Answer {i}")
            db.session.remove()
            return i
    results, errors = _threads(n, answer)
    assert not errors and sorted(results) == list(range(n))
    # two answers to the SAME query at once: one is recorded, the other is refused openly
    with pg.app_context():
        p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
        queries.transition(_actor("monitor"), p, db.session.get(Query, ids[0]), "reopen",
                           "Please give the source document.")
        db.session.remove()

    def same(i):
        with pg.app_context():
            p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
            try:
                queries.transition(_actor(("investigator", "coordinator")[i]), p,
                                   db.session.get(Query, ids[0]), "answer", f"Same {i}")
                return "answered"
            except Exception as e:  # noqa: BLE001
                return type(e).__name__
            finally:
                db.session.remove()
    results, errors = _threads(2, same)
    assert not errors and sorted(results) == ["Conflict", "answered"]
    with pg.app_context():
        for i, qid in enumerate(ids):
            q = db.session.get(Query, qid)
            texts = [m.text for m in q.messages]
            assert f"Answer {i}" in texts
        first = [m.action for m in db.session.get(Query, ids[0]).messages]
        assert first == ["raise", "answer", "reopen", "answer"]
        assert verify().ok

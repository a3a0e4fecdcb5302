"""No write lands after a lock commits (edc/signing/locks.py), with threads, on
PostgreSQL and SQLite.

Two orders of a form save (the eCRF engine's service) and a lock (form freeze, patient,
site, database) taken at the same moment:

- the save passed its lock check and is still working when the lock is taken: the lock
  waits for the save to commit (the save lands before the lock, never after);
- the lock is being taken when the save checks: the save waits for the lock to commit,
  sees it and is refused.

Each side is paused at the worst moment by wrapping a function it calls; the pause ends
when the other side has started (plus a moment, so an unprotected lock would commit).
"""
import threading
import time

import pytest
from helpers import email_for, register_patient
from mon_support import DM, actor, patient, save
from sqlalchemy import select

from edc.audit.models import AuditEvent
from edc.audit.services import SYSTEM, verify
from edc.extensions import db as _db
from edc.signing import locks

LOCK_ACTION = {"form": "lock.form", "patient": "lock.patient", "site": "lock.site",
               "database": "database.lock"}
PAUSE = 0.5


@pytest.fixture
def setting(app, world, tmp_path):
    """An ES01 patient with an in-progress DM record; the ES01 data manager may lock the
    database (a role at every site); snapshots in a temporary folder."""
    from edc.auth.services import grant
    old = app.config.get("SNAPSHOT_DIR")
    app.config["SNAPSHOT_DIR"] = str(tmp_path / "snapshots")
    pid = register_patient(app)
    with app.app_context():
        for code in ("IT01", "LB01", "JO01"):
            grant(email_for("data_manager", "ES01"), code, "data_manager", SYSTEM)
        rid = save(pid, "SCR", "DM", DM, complete=False).record.id
        _db.session.remove()
    yield pid, rid
    app.config["SNAPSHOT_DIR"] = old


def _take_lock(app, scope, pid, rid):
    from edc.crf.models import FormRecord
    from edc.exports import services as exports
    with app.app_context():
        a, p = actor("data_manager"), patient(pid)
        if scope == "form":
            locks.freeze_form(a, p, _db.session.get(FormRecord, rid), "cut")
        elif scope == "patient":
            locks.lock_patient(a, p, "complete")
        elif scope == "site":
            locks.lock_site(a, p.site, "closed")
        else:
            from edc.db import utcnow
            exports.lock_database(a, kind="interim", name="Race cut", cutoff=utcnow().date(),
                                  override_reason="test of the lock race")
        _db.session.remove()


def _save(app, pid, rid):
    from edc.crf import services
    with app.app_context():
        try:
            out = services.save(actor("investigator"), patient(pid), "SCR", "DM",
                                record_id=rid, row_version=1, raw=dict(DM, WEIGHT="31"),
                                raw_missing={}, complete=False, reason=None)
            return "saved" if out.saved else "not saved"
        except locks.Locked:
            _db.session.rollback()
            return "locked"
        finally:
            _db.session.remove()


def _run(*targets):
    results, errors = {}, []

    def run(name, fn):
        try:
            results[name] = fn()
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    ts = [threading.Thread(target=run, args=(name, fn), name=name) for name, fn in targets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "a thread hangs (deadlock?)"
    assert not errors, errors
    return results


def _chain(app):
    with app.app_context():
        out = [e.action for e in _db.session.scalars(select(AuditEvent)
                                                     .order_by(AuditEvent.id))]
        assert verify().ok
        _db.session.remove()
    return out


def _value(app, rid):
    from edc.crf.models import FormRecord
    with app.app_context():
        out = str(_db.session.get(FormRecord, rid).values["WEIGHT"])
        _db.session.remove()
    return out


@pytest.mark.parametrize("scope", ["form", "patient", "site", "database"])
def test_a_checked_save_lands_before_the_lock(app, setting, monkeypatch, scope):
    pid, rid = setting
    checked, locking = threading.Event(), threading.Event()
    real = locks.assert_writable

    def check_then_pause(patient, record=None):
        real(patient, record)
        if threading.current_thread().name == "saver":
            checked.set()
            assert locking.wait(20)
            time.sleep(PAUSE)  # an unprotected lock commits meanwhile
    monkeypatch.setattr(locks, "assert_writable", check_then_pause)
    started = {}

    def lock():
        assert checked.wait(20)
        locking.set()
        started["at"] = time.monotonic()
        _take_lock(app, scope, pid, rid)
        return time.monotonic() - started["at"]

    results = _run(("saver", lambda: _save(app, pid, rid)), ("locker", lock))
    assert results["saver"] == "saved"
    chain = _chain(app)
    assert chain.index(LOCK_ACTION[scope]) > max(
        i for i, a in enumerate(chain) if a == "crf.update"), \
        f"the save landed after the {scope} lock: {chain}"
    assert _value(app, rid) == "31"
    # the lock waited for the save (it did not commit first)
    assert results["locker"] >= PAUSE * 0.8


@pytest.mark.parametrize("scope", ["form", "patient", "site", "database"])
def test_a_save_during_the_lock_waits_and_is_refused(app, setting, monkeypatch, scope):
    import edc.exports.services as exports
    pid, rid = setting
    holding, saving = threading.Event(), threading.Event()
    module = exports if scope == "database" else locks
    real = module.audit

    def audit_then_pause(action, *a, **k):
        out = real(action, *a, **k)
        if threading.current_thread().name == "locker" and action == LOCK_ACTION[scope]:
            holding.set()  # the lock row is written, not yet committed
            assert saving.wait(20)
            time.sleep(PAUSE)
        return out
    monkeypatch.setattr(module, "audit", audit_then_pause)

    def save_now():
        assert holding.wait(20)
        saving.set()
        return _save(app, pid, rid)

    results = _run(("locker", lambda: _take_lock(app, scope, pid, rid)),
                   ("saver", save_now))
    assert results["saver"] == "locked"
    chain = _chain(app)
    assert LOCK_ACTION[scope] in chain and "crf.update" not in chain
    assert _value(app, rid) == "22.5"

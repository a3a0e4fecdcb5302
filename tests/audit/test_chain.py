import pytest
from sqlalchemy import text

from edc.audit.models import AuditEvent
from edc.audit.services import SYSTEM, record, verify


def _write(db, n=5):
    for i in range(n):
        record("test.event", SYSTEM, object_type="thing", object_id=i, old=i, new=i + 1,
               reason=f"because {i}")
    db.session.commit()


def _tamper(db, sql, **params):
    """Change the table behind the app's back (disabling the PostgreSQL guard)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)
    db.session.expire_all()


def test_chain_intact(db):
    _write(db)
    res = verify()
    assert res.ok and res.count == 5


def test_changed_row_detected(db):
    _write(db)
    _tamper(db, "UPDATE audit_event SET new_value = '99' WHERE id = 3")
    res = verify()
    assert not res.ok and res.broken_id == 3


def test_rehashed_row_breaks_the_next_link(db):
    _write(db)
    from edc.audit.services import event_hash
    ev = db.session.get(AuditEvent, 2)
    ev.reason = "forged"
    forged = event_hash(ev)
    db.session.rollback()
    _tamper(db, "UPDATE audit_event SET reason = 'forged', hash = :h WHERE id = 2", h=forged)
    res = verify()
    assert not res.ok and res.broken_id == 3


def test_deleted_row_detected(db):
    _write(db)
    _tamper(db, "DELETE FROM audit_event WHERE id = 2")
    res = verify()
    assert not res.ok and res.broken_id == 2


def test_deleted_tail_detected(db):
    _write(db)
    _tamper(db, "DELETE FROM audit_event WHERE id = 5")
    res = verify()
    assert not res.ok


def test_postgres_refuses_update_and_delete(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL")
    _write(db, 2)
    from sqlalchemy.exc import DBAPIError
    for sql in ("UPDATE audit_event SET reason = 'x' WHERE id = 1",
                "DELETE FROM audit_event WHERE id = 1", "TRUNCATE audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))
    assert verify().ok


def test_cli_verify_exit_codes(app, db):
    _write(db)
    runner = app.test_cli_runner()
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.output
    _tamper(db, "UPDATE audit_event SET user_name = 'mallory' WHERE id = 4")
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code != 0 and "row 4" in r.output


def test_audit_row_has_the_required_fields(db):
    from edc.audit.services import Actor
    record("x", Actor(7, "Dr Who", "10.1.2.3"), site_code="ES01", object_type="patient",
           object_id="ES01-0001-X", item="WEIGHT", old="12", new="13", reason="typo")
    db.session.commit()
    ev = db.session.get(AuditEvent, 1)
    assert (ev.user_id, ev.user_name, ev.ip, ev.site_code) == (7, "Dr Who", "10.1.2.3", "ES01")
    assert ev.at.tzinfo is not None and ev.prev_hash == "0" * 64 and len(ev.hash) == 64

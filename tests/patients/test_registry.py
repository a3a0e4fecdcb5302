import threading
from datetime import date

import pytest
from helpers import email_for, post, register_patient
from sqlalchemy import select

from edc.audit.services import Actor
from edc.errors import ServiceError
from edc.patients.models import Patient


def test_register_through_the_page(logged_in):
    c = logged_in("coordinator")
    r = post(c, "/patients/register", {"birth_year": "2016", "sex": "M",
                                       "registered_on": "2026-03-01"})
    assert r.status_code == 302
    assert "/patients/ES01-0001-" in r.headers["Location"]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "ES01-0001-" in page


def test_register_refused_for_monitor(logged_in):
    c = logged_in("monitor")
    assert c.get("/patients/register").status_code == 403
    r = post(c, "/patients/register", {"birth_year": "2016", "sex": "M",
                                       "registered_on": "2026-03-01"})
    assert r.status_code == 403


def test_bad_input_gives_errors_and_saves_nothing(app, logged_in):
    c = logged_in("investigator")
    r = post(c, "/patients/register", {"birth_year": "1800", "sex": "X",
                                       "registered_on": "nonsense"})
    assert r.status_code == 422
    with app.app_context():
        from edc.extensions import db
        assert db.session.scalar(select(Patient.id)) is None


def test_sequence_and_check_character(app, world):
    ids = [register_patient(app) for _ in range(3)]
    assert [i[:9] for i in ids] == ["ES01-0001", "ES01-0002", "ES01-0003"]
    assert register_patient(app, "IT01").startswith("IT01-0001-")


def test_identifiers_encrypted_and_clear_text_nowhere_in_database(app, world):
    name, mrn = "Zacarías Quintanilla-Bellvitge", "HCB-99887766"
    pid = register_patient(app, identifiers={"full_name": name, "mrn": mrn,
                                             "birth_date": "2015-04-03"})
    with app.app_context():
        from edc.extensions import db
        dumped = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                dumped.append(repr(tuple(row)))
        blob = "\n".join(dumped)
        assert pid in blob
        for secret in (name, mrn, "Quintanilla", "99887766", "2015-04-03"):
            assert secret not in blob
        url = str(db.engine.url)
    if url.startswith("sqlite:///"):
        with open(url[len("sqlite:///"):], "rb") as fh:
            raw = fh.read()
        for secret in (name, mrn, "Quintanilla", "99887766"):
            assert secret.encode() not in raw


def test_identifiers_visible_to_own_site_investigator_and_coordinator_only(app, logged_in):
    pid = register_patient(app, identifiers={"full_name": "Aitana Serra", "mrn": "X-1"})
    for role in ("investigator", "coordinator"):
        page = logged_in(role).get(f"/patients/{pid}").get_data(as_text=True)
        assert "Aitana Serra" in page
    for role in ("monitor", "data_manager"):
        r = logged_in(role).get(f"/patients/{pid}")
        assert r.status_code == 200 and "Aitana Serra" not in r.get_data(as_text=True)
    # never in the list
    assert "Aitana Serra" not in logged_in("investigator").get("/patients/").get_data(
        as_text=True)


def test_duplicate_hospital_number_caught(app, world):
    register_patient(app, identifiers={"mrn": "HCB 12345"})
    with pytest.raises(ServiceError) as e:
        register_patient(app, identifiers={"mrn": "hcb12345"})
    assert "already registered" in str(e.value)
    # the same number at another site is another hospital's number
    register_patient(app, "IT01", identifiers={"mrn": "HCB 12345"})


def test_failed_registration_leaves_no_gap(app, world):
    register_patient(app, identifiers={"mrn": "A1"})
    with pytest.raises(ServiceError):
        register_patient(app, identifiers={"mrn": "A1"})
    assert register_patient(app).startswith("ES01-0002-")


def test_lookup_rejects_mistyped_id(app, logged_in):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = c.get(f"/patients/lookup?q={pid.lower()}")
    assert r.status_code == 302 and r.headers["Location"].endswith(pid)
    wrong = pid[:-1] + ("A" if pid[-1] != "A" else "B")
    r = c.get(f"/patients/lookup?q={wrong}", follow_redirects=True)
    assert "not a valid patient ID" in r.get_data(as_text=True)


@pytest.mark.postgres
def test_concurrent_registration_distinct_gap_free(app, world):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("concurrency is proven on PostgreSQL")
    from edc.auth.services import get_user_by_email
    from edc.extensions import db
    from edc.patients import services
    from edc.sites.services import get_by_code
    n, results, errors = 50, [], []
    barrier = threading.Barrier(n)

    def worker():
        try:
            barrier.wait()  # all start together; the pool (15) queues the rest
            with app.app_context():
                inv = get_user_by_email(email_for("investigator", "ES01"))
                site = get_by_code("ES01")
                p = services.register(site, Actor.of(inv, "t"), birth_year=2015, sex="F",
                                      registered_on=date(2026, 1, 1))
                results.append(p.pseudonym)
                db.session.remove()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = sorted(int(r.split("-")[1]) for r in results)
    assert seqs == list(range(1, n + 1))
    assert len(set(results)) == n

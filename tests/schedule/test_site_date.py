"""Visit statuses are computed for the calendar date at the patient's site, not the
server's (Amman is already tomorrow when it is 23:30 UTC)."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

from edc.schedule import services


def test_site_today_is_the_local_calendar_date():
    late = datetime(2026, 1, 1, 23, 30, tzinfo=timezone.utc)
    assert services.site_today(SimpleNamespace(timezone="Asia/Amman"), late) == date(2026, 1, 2)
    assert services.site_today(SimpleNamespace(timezone="Europe/Madrid"), late) == \
        date(2026, 1, 2)
    assert services.site_today(SimpleNamespace(timezone="UTC"), late) == date(2026, 1, 1)


def test_timeline_and_overdue_default_to_the_site_date(monkeypatch):
    seen = []

    def fake_timeline(schedule, patient, records, today):
        seen.append(today)
        return []
    monkeypatch.setattr(services, "timeline", fake_timeline)
    monkeypatch.setattr(services, "site_today", lambda site, now=None: date(2030, 5, 6))
    monkeypatch.setattr(services, "records_by_patient", lambda ids: {i: [] for i in ids})
    monkeypatch.setattr(services.cat, "catalog", lambda: SimpleNamespace(schedule=None))
    p = SimpleNamespace(id=1, site=SimpleNamespace(timezone="Asia/Beirut"))
    services.patient_timeline(p, [])
    services.site_overdue(1, [p])
    assert seen == [date(2030, 5, 6), date(2030, 5, 6)]

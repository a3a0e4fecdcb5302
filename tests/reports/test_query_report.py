"""The query report of a site, for monitoring visits (issue 7)."""
from helpers import register_patient
from reports_support import drawn_lines, make_patient, pages_text, read_rtl, save


def _site_with_queries(app):
    """One answered query (from make_patient) and one closed query, at ES01; one open
    query at IT01 (must not show)."""
    from edc.extensions import db
    from edc.queries.models import Query, QueryMessage
    pid = make_patient(app)
    with app.app_context():
        save(app, pid, "D14", "FU", {"FUDAT": "2026-02-17", "FUSURV": "alive",
                                     "FUWT": "135"})
        q = db.session.query(Query).filter(Query.status == "open").one()
        q.status = "closed"
        db.session.add(QueryMessage(query_id=q.id, user_name="Monitor ES01", role="monitor",
                                    action="close", text="Checked against the source."))
        db.session.commit()
        other = register_patient(app, "IT01")
        save(app, other, "D7", "FU", {"FUDAT": "2026-02-10", "FUSURV": "alive",
                                      "FUWT": "150"}, site="IT01")
        db.session.remove()
    return pid, other


def test_open_and_closed_queries_of_the_site(app, world, logged_in):
    pid, other = _site_with_queries(app)
    r = logged_in("monitor").get("/reports/site/queries.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = pages_text(r.data)
    text = " ".join(" ".join(pages).split())
    assert "Query report" in text and "ES01" in text
    opened = text.index("Open and answered queries")
    closed = text.index("Closed and cancelled queries")
    answered_at = text.index("Weight confirmed in the source notes.")
    closed_at = text.index("Checked against the source.")
    assert opened < answered_at < closed < closed_at
    assert pid in text and other not in text           # this site's queries only
    assert "Value outside the expected range (8 to 130). Please confirm or correct it." \
        in text
    assert "D7 · Follow-up visit" in text and "Weight [FUWT]" in text
    assert "Answered" in text and "Closed" in text
    assert all(f"Page {i} of {len(pages)}" in t for i, t in enumerate(pages, 1))


def test_query_report_in_arabic(app, world, logged_in):
    _site_with_queries(app)
    r = logged_in("monitor").get("/reports/site/queries.pdf?lang=ar")
    drawn = [t for _, _, t in drawn_lines(r.data, 0)]
    assert any(read_rtl(t) == "الوزن [FUWT]" for t in drawn)  # label, then its name
    assert any("ES01-0001-" in t for t in drawn)


def test_who_may_print_the_query_report(app, world, logged_in):
    for role, status in (("investigator", 200), ("coordinator", 200),
                         ("data_manager", 200), ("statistician", 403), ("admin", 403)):
        assert logged_in(role).get("/reports/site/queries.pdf").status_code == status, role


def test_site_page_link(logged_in):
    html = logged_in("monitor").get("/patients/").get_data(as_text=True)
    assert 'href="/reports/site/queries.pdf"' in html


def test_query_report_command(app, world, tmp_path):
    _site_with_queries(app)
    out = tmp_path / "q.pdf"
    res = app.test_cli_runner().invoke(args=["pdf", "query-report", "--site", "es01",
                                             "--lang", "it", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"%PDF")

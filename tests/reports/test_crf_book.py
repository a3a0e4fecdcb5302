"""The blank annotated CRF book (issue 7)."""
import io
import re

from pypdf import PdfReader

from reports_support import cli_actor, drawn_lines, pages_text, pdf_text, read_rtl


_books: dict = {}


def _book(lang):
    """The book in ``lang``, built once for this module (it holds no patient data)."""
    if lang not in _books:
        from edc.reports import services
        buf = io.BytesIO()
        pages = services.crf_book(cli_actor(), lang, buf)
        _books[lang] = buf.getvalue(), pages
    return _books[lang]


def test_every_form_and_item_with_its_annotations(ctx):
    from edc.crf.catalog import catalog
    data, pages = _book("en")
    text = pdf_text(data)
    assert pages == len(PdfReader(io.BytesIO(data)).pages) > 20
    for form in catalog().forms.values():
        assert f"({form.oid})" in text, form.oid
        for name in form.items:
            assert f"[{name}]" in text, name
    flat = " ".join(text.split())
    # label, name, type, unit, hard and expected ranges
    assert "Highest temperature in the last 24 hours [CRSTMAX]" in flat
    assert "Unit: °C" in flat
    assert "Hard range: 30 – 44 °C" in flat and "Expected range: 35 – 41.5 °C" in flat
    # codelist values with codes
    assert "nasal_cannula = Low-flow nasal cannula" in flat
    # show_if in words, and derivations
    assert "Shown if: Hypotension [CRSHYPO] = Yes" in flat
    assert "Function crs_grade" in flat
    assert "temperature_c ← Highest temperature in the last 24 hours [CRSTMAX]" in flat
    # edit checks
    assert "CHK_GRADE_DIFF" in flat and "Open a query" in flat


def test_contents_give_the_right_page_numbers(ctx):
    data, _ = _book("en")
    pages = pages_text(data)
    contents = " ".join(pages[0].split())
    for title in ("Demographics (DM)", "Cytokine release syndrome — daily assessment (CRS)",
                  "End of study (EOS)"):
        m = re.search(re.escape(title) + r" 1 (\d+)", contents)
        assert m, title
        page = int(m.group(1))
        assert pages[page - 1].lstrip().startswith(title), (title, page)
    # each form only once, and an outline (bookmarks) for navigation
    assert contents.count("Adverse event log (AE)") == 1
    outline = [o.title for o in PdfReader(io.BytesIO(data)).outline]
    assert "Demographics (DM)" in outline and outline[0] == "Visit schedule"


def test_every_page_has_page_x_of_y(ctx):
    data, n = _book("en")
    for i, text in enumerate(pages_text(data), 1):
        assert f"Page {i} of {n}" in text
        assert "Annotated blank CRF book" in text and "Generated " in text


def test_arabic_book_is_shaped_and_right_to_left(ctx):
    data, _ = _book("ar")
    reader = PdfReader(io.BytesIO(data))
    crs = next(o for o in reader.outline if o.title.endswith("(CRS)"))
    lines = [t for _, _, t in drawn_lines(data, reader.get_destination_page_number(crs))]
    label = "أعلى حرارة خلال آخر 24 ساعة"
    drawn = next(t for t in lines if read_rtl(t) == label)
    assert "\u0623" not in drawn and "\ufe83" in drawn  # hamza-alef in its joined form
    assert any("[CRSTMAX]" in t for t in lines)


def test_italian_and_spanish_accents(ctx):
    it = " ".join(pdf_text(_book("it")[0]).split())
    assert "Funzionalità cardiaca adeguata" in it
    es = " ".join(pdf_text(_book("es")[0]).split())
    assert "Temperatura máxima en las últimas 24 horas" in es and "Año de nacimiento" in es


def test_cli_crf_book(app, tmp_path):
    out = tmp_path / "book-ar.pdf"
    res = app.test_cli_runner().invoke(args=["pdf", "crf-book", "--lang", "ar", "-o",
                                             str(out)])
    assert res.exit_code == 0, res.output
    assert re.search(r"book-ar\.pdf: \d+ pages", res.output)
    assert out.read_bytes().startswith(b"%PDF")
    res = app.test_cli_runner().invoke(args=["pdf", "crf-book", "--lang", "xx", "-o",
                                             str(tmp_path / "x.pdf")])
    assert res.exit_code == 1 and res.output.startswith("Error: Unknown language xx")
    assert not (tmp_path / "x.pdf").exists()


def test_every_role_can_download_it(logged_in, client):
    r = logged_in("statistician").get("/reports/crf-book.pdf?lang=it")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert "crf-book-MILenARI-it-" in r.headers["Content-Disposition"]
    page = logged_in("statistician").get("/reports/crf-book").get_data(as_text=True)
    assert "/reports/crf-book.pdf" in page
    assert client.get("/reports/crf-book.pdf").status_code == 302  # log in first


def test_nav_link_for_every_logged_in_user(logged_in):
    html = logged_in("admin").get("/").get_data(as_text=True)
    assert 'href="/reports/crf-book"' in html

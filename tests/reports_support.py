"""Support for the printed-record tests (tests/reports/): a patient with data, and readers
of generated PDFs (text as extracted, and strings exactly as drawn)."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.generic import ContentStream

from helpers import email_for, register_patient

IDENTIFIERS = {"full_name": "María José Ñúñez Peña", "mrn": "HC-778899",
               "birth_date": "2015-04-02"}


def _actor(app, role="investigator", site="ES01"):
    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    return Actor.of(get_user_by_email(email_for(role, site)), "test")


def save(app, pid, visit, oid, values, *, missing=None, complete=False, record_id=None,
         reason=None, role="investigator", site="ES01"):
    """Save a form through the eCRF service (validation, audit, automatic queries)."""
    from edc import access
    from edc.crf import services as crf
    from edc.extensions import db
    actor = _actor(app, role, site)
    patient = access.get_patient(db.session, actor.user, pid)
    rv = None
    if record_id:
        rv = crf.get_record(actor, patient, record_id).row_version
    out = crf.save(actor, patient, visit, oid, record_id=record_id, row_version=rv,
                   raw=values, raw_missing=missing or {}, complete=complete, reason=reason)
    assert out.saved, (out.result.errors if hasattr(out.result, "errors") else out.result)
    return out.record.id


def make_patient(app, site="ES01", identifiers=IDENTIFIERS):
    """A patient with consent, demographics (corrected with a reason), a follow-up with an
    automatic query answered by the site and a missing-data code, and two CRS days."""
    pid = register_patient(app, site, identifiers=identifiers)
    with app.app_context():
        from edc.extensions import db
        from edc.queries.models import Query, QueryMessage
        save(app, pid, "SCR", "IC", {"RFICDAT": "2026-01-06", "ICLANG": "es",
                                     "ICVER": "v2.1"}, site=site)
        dm = save(app, pid, "SCR", "DM", {"BRTHYR": "2015", "SEX": "F", "WEIGHT": "22,5",
                                          "HEIGHT": "118"}, complete=True, site=site)
        save(app, pid, "SCR", "DM", {"BRTHYR": "2015", "SEX": "F", "WEIGHT": "23.1",
                                     "HEIGHT": "118"}, complete=True, record_id=dm,
             reason="Transcription error corrected", site=site)
        save(app, pid, "D7", "FU", {"FUDAT": "2026-02-10", "FUSURV": "alive",
                                    "FUWT": "140"},
             missing={"FUHT": ("ND", "Scale broken")}, site=site)
        for day, temp in (("2026-02-01", "39.2"), ("2026-02-02", "38.4")):
            save(app, pid, "ACUTE", "CRS", {"CRSDAT": day, "CRSTMAX": temp,
                                            "CRSO2DEV": "none"}, site=site)
        q = db.session.query(Query).filter_by(item="FUWT").one()
        q.status = "answered"
        db.session.add(QueryMessage(query_id=q.id, user_name="Investigator ES01",
                                    role="investigator", action="answer",
                                    text="Weight confirmed in the source notes."))
        db.session.commit()
        db.session.remove()
    return pid


def pdf_text(data: bytes) -> str:
    """All text of a PDF, as pypdf extracts it (Latin text in reading order)."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def _tounicode(font) -> dict[int, str]:
    out: dict[int, str] = {}
    tu = font.get("/ToUnicode")
    if tu is None:
        return out
    cmap = tu.get_object().get_data().decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = "".join(chr(int(dst[i:i + 4], 16))
                                        for i in range(0, len(dst), 4))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*"
                                      r"<([0-9A-Fa-f]+)>", block):
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(int(dst, 16) + k)
    return out


def drawn_lines(data: bytes, page: int = 0) -> list[tuple[float, float, str]]:
    """The strings exactly as drawn on a page, in drawing (visual, left-to-right) order:
    (y, x, text) per text-showing operation, top of the page first.

    pypdf's extract_text re-orders right-to-left text by its own rules; this reads the
    content stream instead, to check the visual order our layout produced."""
    reader = PdfReader(io.BytesIO(data))
    pg = reader.pages[page]
    fonts = {name: _tounicode(ref.get_object())
             for name, ref in pg["/Resources"]["/Font"].items()}
    ops = ContentStream(pg.get_contents(), reader).operations
    ctm = [1, 0, 0, 1, 0, 0]
    stack, out = [], []
    font, tm = None, [1, 0, 0, 1, 0, 0]

    def mul(a, b):
        return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
                a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]
    current = None
    for operands, op in ops:
        op = op.decode()
        if op == "q":
            stack.append(list(ctm))
        elif op == "Q":
            ctm = stack.pop()
        elif op == "cm":
            ctm = mul([float(x) for x in operands], ctm)
        elif op == "BT":
            tm = [1, 0, 0, 1, 0, 0]
            current = None
        elif op == "Tm":
            tm = [float(x) for x in operands]
        elif op == "Td":
            tm = mul([1, 0, 0, 1, float(operands[0]), float(operands[1])], tm)
        elif op == "Tf":
            font = fonts.get(operands[0], {})
        elif op in ("Tj", "TJ"):
            parts = operands[0] if op == "TJ" else [operands[0]]
            text = ""
            for s in parts:
                if isinstance(s, (int, float)) or hasattr(s, "as_numeric"):
                    continue
                raw = s if isinstance(s, bytes) else (
                    s.original_bytes if hasattr(s, "original_bytes") else
                    str(s).encode("latin-1"))
                text += "".join(font.get(b, chr(b)) for b in raw)
            m = mul(tm, ctm)
            if current is None:
                current = [round(m[5], 1), round(m[4], 1), text]
                out.append(current)
            else:  # a font switch inside one drawn string
                current[2] += text
        elif op == "ET":
            current = None
    out.sort(key=lambda t: (-t[0], t[1]))
    return [tuple(x) for x in out]


def unshape(visual_rtl: str) -> str:
    """Visual right-to-left Arabic back to logical order and plain letters (for tests)."""
    import unicodedata
    return unicodedata.normalize("NFKC", visual_rtl[::-1])



def read_rtl(visual: str) -> str:
    """A drawn right-to-left line read back in logical order: words from right to left,
    Arabic words un-reversed and unshaped, left-to-right islands (numbers, IDs) kept."""
    import unicodedata
    words = []
    for w in reversed(visual.split(" ")):
        if any("\ufb50" <= c <= "\ufeff" or "\u0600" <= c <= "\u06ff" for c in w):
            w = unicodedata.normalize("NFKC", w[::-1])
        words.append(w)
    return " ".join(words)


def pages_text(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text() for page in reader.pages]


def cli_actor():
    from edc.audit.services import Actor
    return Actor(None, "cli:test", "cli")

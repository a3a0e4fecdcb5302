"""The patient casebook: every datum of one patient, with its queries, status marks,
signatures and audit trail, page by page in schedule order.

:func:`write_casebook` builds one PDF into a file object and returns its page count; it
holds one patient's data only (a site's casebooks are built one after the other).
Access is checked by the caller (``services.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import or_, select

from ..audit.models import AuditEvent
from ..audit.services import decode
from ..crf import catalog as cat
from ..crf.definitions import FormDef
from ..crf.models import FormRecord
from ..crf.values import N_
from ..extensions import db
from ..patients.services import SEX_LABELS, STATUS_LABELS
from ..queries.models import Query
from ..schedule.definitions import timeline
from . import display as d
from . import marks as mk
from .common import document, page_frame
from .pdf import BAD, OK, SHADE2, WARN, Ctx, build
from .textlayout import auto, ltr

RECORD_STATUS = {"in_progress": N_("In progress"), "complete": N_("Complete"),
                 "removed": N_("Removed")}
QUERY_STATES = {"open": N_("Open"), "answered": N_("Answered"), "closed": N_("Closed"),
                "cancelled": N_("Cancelled")}
QUERY_KINDS = {"auto": N_("automatic"), "manual": N_("manual")}
VISIT_STATUS = {"not_due": N_("Not due"), "due": N_("Due"), "overdue": N_("Overdue"),
                "in_progress": N_("In progress"), "complete": N_("Complete"),
                "pending_anchor": N_("Date not yet known")}
SDV_STATES = {"verified": N_("Verified"), "partial": N_("Partly verified"),
              "not_verified": N_("Not verified"), "not_available": N_("Not available")}
ACTIONS = {
    "patient.register": N_("Patient registered"),
    "crf.create": N_("Value entered"),
    "crf.update": N_("Value changed"),
    "crf.status": N_("Form status changed"),
    "crf.remove": N_("Form removed"),
    "crf.refused": N_("Entry refused"),
    "query.auto": N_("Automatic query raised"),
    "query.data_changed": N_("Query: the data changed"),
    "casebook.identified": N_("Identified casebook printed"),
    "patient.enrol": N_("Patient enrolled"),
    "query.raise": N_("Query raised"),
    "query.answer": N_("Query answered"),
    "query.close": N_("Query closed"),
    "query.reopen": N_("Query re-opened"),
    "query.cancel": N_("Query cancelled"),
    "sdv.verify": N_("Source data verified"),
    "sdv.cleared": N_("Verification cleared by a change"),
    "signature.visit": N_("Visit signed"),
    "signature.casebook": N_("Casebook signed"),
    "signature.invalidated": N_("Signature invalidated"),
    "signature.refused": N_("Signature refused"),
    "lock.form": N_("Form frozen"),
    "lock.patient": N_("Patient locked"),
    "lock.site": N_("Site locked"),
    "unlock.form": N_("Form unfrozen"),
    "unlock.patient": N_("Patient unlocked"),
    "unlock.site": N_("Site unlocked"),
}
MESSAGE_ACTIONS = {"raise": N_("Raised"), "answer": N_("Answered"), "close": N_("Closed"),
                   "reopen": N_("Re-opened"), "cancel": N_("Cancelled"),
                   "data_changed": N_("Data changed"), "comment": N_("Comment")}


@dataclass
class Identified:
    """The direct identifiers of an identified copy, and who asked for it."""

    identifiers: dict
    requested_by: str
    requested_at: datetime
    purpose: str


def label_of(table: dict, key: str | None) -> str:
    """The translated label of a code (msgids marked N_, or lazy strings)."""
    if key in table:
        v = table[key]
        return _(v) if isinstance(v, str) else str(v)
    return ltr(key) if key else ""


def role_name(role: str | None) -> str:
    from ..access import ROLE_LABELS
    return label_of(ROLE_LABELS, role)


def query_message(text: str, params: dict | None, translate: bool) -> str:
    if not translate:
        return auto(text)
    t = _(text)
    try:
        return t % params if params else t
    except (KeyError, TypeError, ValueError):
        return t


def visit_groups(records: list[FormRecord], schedule) -> list[tuple[str, str, list]]:
    """(visit code, visit label, records) in schedule order: scheduled visits, then
    unscheduled ones by number, then patient logs, then anything else."""
    by_visit: dict[str, list[FormRecord]] = {}
    for r in records:
        by_visit.setdefault(r.visit_code, []).append(r)
    out = []

    def ordered(code, form_order):
        recs = by_visit.pop(code, [])
        pos = {oid: i for i, oid in enumerate(form_order)}
        return sorted(recs, key=lambda r: (pos.get(r.form_oid, len(pos)), r.form_oid, r.seq,
                                           r.id))
    for v in schedule.visits:
        if v.code in by_visit:
            out.append((v.code, d.tr(v.label), ordered(v.code, v.forms)))
    uns = sorted((c for c in by_visit if c.startswith("UNS") and c[3:].isdigit()),
                 key=lambda c: int(c[3:]))
    for code in uns:
        out.append((code, _("Unscheduled visit %(n)s", n=ltr(code[3:])),
                    ordered(code, schedule.unscheduled_forms)))
    if "LOG" in by_visit:
        out.append(("LOG", _("Logs and study end"), ordered("LOG", schedule.log_forms)))
    for code in sorted(by_visit):
        out.append((code, ltr(code), ordered(code, [])))
    return out


class FormCache:
    """Form definitions by (oid, version), each loaded once."""

    def __init__(self):
        self._cache: dict[tuple[str, int], FormDef | None] = {}

    def get(self, oid: str, version: int) -> FormDef | None:
        key = (oid, version)
        if key not in self._cache:
            try:
                self._cache[key] = cat.form_version(oid, version)
            except LookupError:
                self._cache[key] = None
        return self._cache[key]


def patient_audit(patient, record_ids: list[int], related: dict[str, list[int]] | None = None):
    """Every audit event about the patient, in chain order (a lightweight row each): by
    pseudonym, by record, and for ``related`` objects (object type → ids, e.g. the
    patient's signatures and the locks that cover it)."""
    pid = patient.pseudonym
    conds = [AuditEvent.object_id == pid, AuditEvent.object_id.like(f"{pid}/%")]
    if record_ids:
        conds.append(AuditEvent.record_id.in_(record_ids))
    for object_type, ids in (related or {}).items():
        if ids:
            conds.append((AuditEvent.object_type == object_type)
                         & AuditEvent.object_id.in_([str(i) for i in ids]))
    cols = [AuditEvent.id, AuditEvent.at, AuditEvent.user_name, AuditEvent.action,
            AuditEvent.object_type, AuditEvent.object_id, AuditEvent.record_id,
            AuditEvent.item, AuditEvent.old_value, AuditEvent.new_value, AuditEvent.reason]
    return db.session.execute(select(*cols).where(or_(*conds)).order_by(AuditEvent.id))


def write_casebook(out, patient, lang: str, *, generated_at: datetime,
                   identified: Identified | None = None) -> int:
    """Build the casebook of ``patient`` into ``out``; returns the number of pages."""
    with document(lang) as ctx:
        story = _story(ctx, patient, generated_at, identified)
        site = patient.site
        frame = page_frame(
            _("Patient casebook"),
            f"{ltr(patient.pseudonym)} · {ltr(site.code)} {auto(site.name)}", generated_at,
            watermark=_("IDENTIFIED COPY — CONFIDENTIAL") if identified else None,
            watermark_note=_("Printed for %(name)s, %(at)s",
                             name=auto(identified.requested_by),
                             at=d.utc_text(identified.requested_at)) if identified else None)
        return build(out, story, frame, ctx, title=f"{patient.pseudonym}",
                     subject=_("Patient casebook"))


def _story(ctx: Ctx, patient, generated_at: datetime, identified: Identified | None) -> list:
    site = patient.site
    tz = ZoneInfo(site.timezone)
    schedule = cat.catalog().schedule
    records = list(db.session.scalars(select(FormRecord).where(
        FormRecord.patient_id == patient.id).order_by(FormRecord.id)))
    rids = [r.id for r in records]
    forms = FormCache()
    queries: dict[int, list[Query]] = {}
    all_queries = list(db.session.scalars(select(Query).where(
        Query.patient_id == patient.id).order_by(Query.id)))
    for q in all_queries:
        queries.setdefault(q.record_id, []).append(q)
    marks = mk.load(patient, rids)
    removed_reason = {}
    if any(r.status == "removed" for r in records):
        for rid, reason in db.session.execute(select(AuditEvent.record_id, AuditEvent.reason)
                                              .where(AuditEvent.action == "crf.remove",
                                                     AuditEvent.record_id.in_(rids))):
            removed_reason[rid] = reason

    s: list = []
    # ------------------------------------------------------------- cover
    s.append(ctx.p(_("Patient casebook"), "title"))
    facts = [
        (_("Patient ID"), ltr(patient.pseudonym)),
        (_("Site"), f"{ltr(site.code)} — {auto(site.name)}"),
        (_("Status"), label_of(STATUS_LABELS, patient.status)),
        (_("Year of birth"), ltr(patient.birth_year or "")),
        (_("Sex"), label_of(SEX_LABELS, patient.sex)),
        (_("Registered"), ltr(patient.registered_on.isoformat())),
        (_("Enrolled"), ltr(patient.enrolled_on.isoformat()) if patient.enrolled_on else ""),
        (_("Generated"), d.both_times(generated_at, tz)),
        (_("Forms"), ltr(len([r for r in records if r.status != "removed"]))),
        (_("Queries"), _("%(open)s open or answered, %(closed)s closed or cancelled",
                         open=ltr(sum(q.status in ("open", "answered") for q in all_queries)),
                         closed=ltr(sum(q.status in ("closed", "cancelled")
                                        for q in all_queries)))),
    ]
    s.append(ctx.facts(facts))
    s.append(ctx.space(6))
    if identified is None:
        s.append(ctx.p(_("This casebook contains no direct identifiers: the patient is "
                         "known by the pseudonym only."), "small"))
    else:
        s.append(ctx.p(_("Identified copy"), "h2", color=BAD))
        s.append(ctx.p(_("Requested by %(name)s on %(at)s. Purpose: %(purpose)s. The request "
                         "is recorded in the audit trail.",
                         name=auto(identified.requested_by),
                         at=d.both_times(identified.requested_at, tz),
                         purpose=auto(identified.purpose)), "body"))
        idents = identified.identifiers or {}
        rows = [(_("Full name"), auto(idents.get("full_name", ""))),
                (_("Hospital record number"), ltr(idents.get("mrn", ""))),
                (_("Date of birth"), ltr(idents.get("birth_date", "")))]
        if not idents:
            rows = [(_("Direct identifiers"), _("None kept at the site."))]
        s.append(ctx.facts(rows))

    # ------------------------------------------------------------- status marks
    s.append(ctx.p(_("Status marks"), "h2"))
    s.extend(_lock_summary(ctx, marks, tz))
    s.append(ctx.p(_("Casebook signatures"), "h3"))
    s.extend(_signatures(ctx, marks, marks.casebook_signatures(), tz))

    # ------------------------------------------------------------- visit overview
    live = [r for r in records if r.status in ("in_progress", "complete")]
    s.append(ctx.keep_room(120))
    s.append(ctx.p(_("Visits"), "h2"))
    rows = [[_("Visit"), _("Due"), _("Window"), _("Status"), _("Complete")]]
    for vs in timeline(schedule, patient, live, date.today()):
        done = sum(1 for f in vs.forms if f.status == "complete")
        rows.append([f"{d.tr(vs.visit.label)} ({ltr(vs.visit.code)})",
                     ltr(vs.due.isoformat()) if vs.due else "",
                     ltr(f"{vs.earliest.isoformat()} – {vs.latest.isoformat()}")
                     if vs.earliest else "",
                     label_of(VISIT_STATUS, vs.status),
                     ltr(f"{done}/{len(vs.forms)}")])
    s.append(ctx.table(rows, [0.33, 0.13, 0.24, 0.19, 0.11]))

    # ------------------------------------------------------------- visits and forms
    for code, label, recs in visit_groups(records, schedule):
        s.append(ctx.page_break())
        s.append(ctx.p(label if label == ltr(code) else f"{label} ({ltr(code)})", "h1"))
        if marks.signatures_available:
            sigs = marks.visit_signatures(code)
            if sigs:
                s.append(ctx.p(_("Visit signatures"), "h3"))
                s.extend(_signatures(ctx, marks, sigs, tz))
        for rec in recs:
            form = forms.get(rec.form_oid, rec.form_version)
            s.extend(_record(ctx, rec, form, queries.get(rec.id, []), marks, tz,
                             removed_reason.get(rec.id)))

    # ------------------------------------------------------------- audit trail
    s.append(ctx.page_break())
    s.append(ctx.p(_("Appendix: audit trail"), "h1"))
    s.append(ctx.p(_("Every change to this patient's data, in order: who, when (UTC), "
                     "old → new value, and the reason given."), "small"))
    related = {"signature": [sg.id for sg in marks.signatures],
               "lock": [lk.id for lk in (marks.patient_locks + marks.site_locks
                                         + [x for ls in marks.record_locks.values()
                                            for x in ls])]}
    s.extend(_audit(ctx, patient, records, forms, tz, {q.id: q for q in all_queries},
                    related))
    return s


def _lock_summary(ctx: Ctx, marks: mk.PatientMarks, tz) -> list:
    if not marks.locks_available:
        return [ctx.p(_("Locks: not available in this installation."), "small")]
    rows = []
    for label, locks in ((_("Site lock"), marks.site_locks),
                         (_("Patient lock"), marks.patient_locks)):
        active = mk.active_locks(locks)
        if active:
            lk = active[-1]
            rows.append((label, ctx.p(_("Locked on %(at)s by %(name)s", at=d.both_times(
                lk.locked_at, tz), name=auto(lk.locked_by_name or "")), "cellb",
                color=WARN)))
        else:
            rows.append((label, _("Not locked")))
    frozen = sum(1 for ls in marks.record_locks.values() if mk.active_locks(ls))
    rows.append((_("Frozen forms"), ltr(frozen)))
    return [ctx.facts(rows)]


def _signatures(ctx: Ctx, marks: mk.PatientMarks, sigs: list, tz) -> list:
    if not marks.signatures_available:
        return [ctx.p(_("Signatures: not available in this installation."), "small")]
    if not sigs:
        return [ctx.p(_("Not signed."), "small")]
    rows = [[_("Printed name"), _("Signed (UTC)"), _("Site time"), _("Meaning"),
             _("Status")]]
    for sg in sigs:
        invalid = sg.status != "valid" or sg.invalidated_at is not None
        if invalid:
            what = _("Invalidated")
            if sg.invalidated_at:
                what += " " + _("on %(at)s by %(name)s", at=d.utc_text(sg.invalidated_at),
                                name=auto(sg.invalidated_by_name or ""))
            if sg.invalidated_items:
                what += " — " + _("changed: %(items)s", items=ltr(", ".join(
                    str(i) for i in sg.invalidated_items)))
            status = ctx.p(what, "cellb", color=BAD)
        else:
            status = ctx.p(_("Valid"), "cellb", color=OK)
        rows.append([f"{auto(sg.signer_name)} ({role_name(sg.signer_role)})",
                     d.utc_text(sg.signed_at), d.local_text(sg.signed_at, tz),
                     f"{d.tr(sg.meaning)}", status])
    return [ctx.table(rows, [0.22, 0.17, 0.17, 0.26, 0.18])]


def _record(ctx: Ctx, rec: FormRecord, form: FormDef | None, queries: list[Query],
            marks: mk.PatientMarks, tz, removed_reason: str | None) -> list:
    s: list = [ctx.keep_room(110)]
    title = d.tr(form.title) if form else rec.form_oid
    seq = " " + ltr(f"#{rec.seq}") if form is None or form.repeating else ""
    s.append(ctx.p(f"{title} ({ltr(rec.form_oid)}){seq}", "h2"))
    meta = [_("Form version %(v)s", v=ltr(rec.form_version)),
            _("Status: %(s)s", s=label_of(RECORD_STATUS, rec.status)),
            _("Last change %(at)s by %(name)s", at=d.utc_text(rec.updated_at),
              name=auto(rec.updated_by_name or "—"))]
    s.append(ctx.p(" · ".join(meta), "small"))
    if rec.status == "removed":
        s.append(ctx.p(_("This form was removed. Reason: %(reason)s",
                         reason=auto(removed_reason or "—")), "warn"))
    # status marks of the record
    if form is not None:
        sdv = mk.sdv_status(marks, rec, form)
        sdv_text = _("SDV: %(state)s", state=label_of(SDV_STATES, sdv.state))
        if sdv.state in ("verified", "partial"):
            sdv_text += " " + _("(%(n)s of %(total)s items; last on %(at)s by %(name)s)",
                                n=ltr(sdv.verified), total=ltr(sdv.total),
                                at=d.utc_text(sdv.last_at), name=auto(sdv.last_by or ""))
    else:
        sdv_text = _("SDV: %(state)s", state=label_of(SDV_STATES, "not_available"))
    if marks.locks_available:
        active = mk.active_locks(marks.record_locks.get(rec.id, [])
                                 + marks.patient_locks + marks.site_locks)
        lock_text = _("Lock: locked since %(at)s", at=d.utc_text(active[-1].locked_at)) \
            if active else _("Lock: not locked")
    else:
        lock_text = _("Lock: not available")
    s.append(ctx.p(f"{sdv_text} · {lock_text}", "small"))
    if form is None:
        s.append(ctx.p(_("The definition of this form version is not available."),
                       "warn"))
        return s
    active_marks = {m.item: m for m in marks.sdv.get(rec.id, []) if m.cleared_at is None}
    by_item: dict[str, list[Query]] = {}
    for q in queries:
        by_item.setdefault(q.item, []).append(q)
    sections = [(d.tr(sec.title), list(sec.items)) for sec in form.sections]
    derived = [i.name for i in form.derived]
    if derived:
        sections.append((_("Computed"), derived))
    widths = [0.42, 0.38, 0.20]
    first = True
    for sec_title, names in sections:
        if not names:
            continue
        # one table per section, its title as the header row (repeated on a new page,
        # never left alone at the foot of one)
        rows = [[_("Item"), _("Value"), _("Notes")]] if first else []
        rows.append([ctx.p(sec_title or " ", "cellb"), "", ""])
        header = len(rows)
        commands = [("SPAN", (0, header - 1), (-1, header - 1)),
                    ("BACKGROUND", (0, header - 1), (-1, header - 1), SHADE2)]
        for name in names:
            item = form.items[name]
            value = d.value_text(item, rec.values.get(name), tz)
            miss = rec.missing.get(name)
            if miss:
                value = d.missing_text(miss)
            notes = []
            if name in active_marks:
                notes.append(_("SDV ✓ %(at)s", at=d.utc_text(active_marks[name].verified_at)))
            for q in by_item.get(name, []):
                notes.append(_("Query %(id)s: %(state)s", id=ltr(f"#{q.id}"),
                               state=label_of(QUERY_STATES, q.status)))
            rows.append([[ctx.p(d.tr(item.label), "cell"), ctx.p(ltr(name), "cells")],
                         ctx.data(value or "—") if item.type == "text" and not miss
                         else ctx.p(value or "—", "cell"),
                         ctx.p("\n".join(notes), "cells")])
        if not first:
            s.append(ctx.keep_room(50))
        s.append(ctx.table(rows, widths, header=header, commands=commands))
        first = False
    # queries of the record, with their thread
    for q in queries:
        s.extend(_query(ctx, q, form, tz))
    return s


def _query(ctx: Ctx, q: Query, form: FormDef | None, tz) -> list:
    head = _("Query %(id)s on %(item)s — %(state)s (%(kind)s)", id=ltr(f"#{q.id}"),
             item=d.item_ref(form, q.item), state=label_of(QUERY_STATES, q.status),
             kind=label_of(QUERY_KINDS, q.kind))
    rows = [[ctx.p(head, "cellb"), "", "", ""],
            [_("When (UTC)"), _("Who"), _("Action"), _("Message")]]
    for m in q.messages:
        who = auto(m.user_name) if m.user_name else _("System")
        if m.role and m.role != "system":
            who += f" ({role_name(m.role)})"
        translate = m.role == "system" or (q.kind == "auto" and m.action == "raise")
        rows.append([d.utc_text(m.at), who, label_of(MESSAGE_ACTIONS, m.action),
                     ctx.data(query_message(m.text, m.params, translate), "cell")
                     if not translate else query_message(m.text, m.params, True)])
    return [ctx.space(4), ctx.table(rows, [0.18, 0.2, 0.14, 0.48], header=2,
                                    commands=[("SPAN", (0, 0), (-1, 0))])]


VALUE_EDITS = ("crf.create", "crf.update", "crf.refused")
VALUE_LABELS = {"verified": N_("Verified"), "cleared": N_("Cleared"), "valid": N_("Valid"),
                "invalidated": N_("Invalidated"), "locked": N_("Locked"),
                "unlocked": N_("Unlocked"), **RECORD_STATUS, **QUERY_STATES}


def _audit_change(ev, item, tz) -> str:
    """old → new of an event, each as its kind of value reads."""
    if ev.old_value is None and ev.new_value is None:
        return ""

    def fmt(v):
        if ev.action in VALUE_EDITS:
            return d.audit_value_text(item, v, tz)
        if isinstance(v, str) and v in VALUE_LABELS:
            return label_of(VALUE_LABELS, v)
        return d.audit_value_text(None, v, tz)
    return f"{fmt(decode(ev.old_value))} → {fmt(decode(ev.new_value))}"


def _audit(ctx: Ctx, patient, records: list[FormRecord], forms: FormCache, tz,
           queries: dict[int, Query], related: dict[str, list[int]]) -> list:
    recs = {r.id: r for r in records}
    header = [_("When (UTC)"), _("Who"), _("What"), _("Where"), _("Old → new"), _("Reason")]
    widths = [0.14, 0.13, 0.14, 0.17, 0.26, 0.16]
    out, rows, count = [], [header], 0
    for ev in patient_audit(patient, list(recs), related):
        rec = recs.get(ev.record_id)
        form = forms.get(rec.form_oid, rec.form_version) if rec is not None else None
        item = form.items.get(ev.item) if form is not None and ev.item else None
        where = _where(rec, form, ev)
        change = _audit_change(ev, item, tz)
        reason = ev.reason or ""
        if ev.object_type == "query":
            q = queries.get(int(ev.object_id)) if (ev.object_id or "").isdigit() else None
            if q is not None:
                where += " · " + ltr(f"#{q.id}")
                if ev.action == "query.auto":  # the new value is the message's msgid
                    change = query_message(q.message, q.params, True)
        if ev.action == "crf.refused" and reason:
            reason = _(reason)  # the engine's message (an English msgid)
        rows.append([d.utc_text(ev.at), auto(ev.user_name or ""),
                     label_of(ACTIONS, ev.action), where, change, ctx.data(reason, "cell")])
        count += 1
        if len(rows) > 40:  # several tables: each splits across pages cheaply
            out.append(ctx.table(rows, widths))
            rows = [header]
    if len(rows) > 1:
        out.append(ctx.table(rows, widths))
    if not count:
        out.append(ctx.p(_("No audit events."), "body"))
    return out


def _where(rec: FormRecord | None, form: FormDef | None, ev) -> str:
    if rec is None:
        return ltr(" ".join(x for x in (ev.object_type, ev.object_id) if x))
    where = f"{ltr(rec.visit_code)} · {ltr(rec.form_oid)}"
    if form is not None and form.repeating:
        where += " " + ltr(f"#{rec.seq}")
    if ev.item:
        where += f" · {ltr(ev.item)}"
    return where

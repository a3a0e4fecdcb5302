"""The query report of a site: open and closed queries, with their threads, for a
monitoring visit."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from ..crf.models import FormRecord
from ..extensions import db
from ..patients.models import Patient
from ..queries.models import Query
from . import display as d
from .casebook import (MESSAGE_ACTIONS, QUERY_KINDS, QUERY_STATES, FormCache, label_of,
                       query_message, role_name)
from .common import document, page_frame
from .pdf import Ctx, build
from .textlayout import auto, ltr

OPEN = ("open", "answered")


def write_query_report(out, site, lang: str, *, generated_at: datetime) -> int:
    with document(lang) as ctx:
        story = _story(ctx, site, generated_at)
        frame = page_frame(_("Query report"), f"{ltr(site.code)} {auto(site.name)}",
                           generated_at)
        return build(out, story, frame, ctx, title=_("Query report"), subject=site.code)


def _story(ctx: Ctx, site, generated_at: datetime) -> list:
    tz = ZoneInfo(site.timezone)
    rows = db.session.execute(
        select(Query, Patient.pseudonym, FormRecord.visit_code, FormRecord.form_oid,
               FormRecord.form_version, FormRecord.seq)
        .join(Patient, Patient.id == Query.patient_id)
        .join(FormRecord, FormRecord.id == Query.record_id)
        .where(Query.site_id == site.id)
        .order_by(Patient.seq, Query.id)).all()
    forms = FormCache()
    counts = Counter(r[0].status for r in rows)
    s: list = [ctx.p(_("Query report"), "title")]
    s.append(ctx.facts([
        (_("Site"), f"{ltr(site.code)} — {auto(site.name)}"),
        (_("Generated"), d.both_times(generated_at, tz)),
        *[(label_of(QUERY_STATES, st), ltr(counts.get(st, 0))) for st in QUERY_STATES],
    ]))
    for title, states in ((_("Open and answered queries"), OPEN),
                          (_("Closed and cancelled queries"), ("closed", "cancelled"))):
        s.append(ctx.keep_room(100))
        s.append(ctx.p(title, "h2"))
        part = [r for r in rows if r[0].status in states]
        if not part:
            s.append(ctx.p(_("None."), "body"))
            continue
        header = [_("Query"), _("Patient"), _("Where"), _("Thread"), _("State")]
        table, n = [header], 0
        for q, pseudonym, visit, oid, version, seq in part:
            form = forms.get(oid, version)
            where = f"{ltr(visit)} · {d.tr(form.title) if form else ltr(oid)}"
            if form is not None and form.repeating:
                where += " " + ltr(f"#{seq}")
            where += f"\n{d.item_ref(form, q.item)}"
            thread = []
            for m in q.messages:
                who = auto(m.user_name) if m.user_name else _("System")
                if m.role and m.role != "system":
                    who += f" ({role_name(m.role)})"
                translate = m.role == "system" or (q.kind == "auto" and m.action == "raise")
                thread.append(ctx.p(f"{d.utc_text(m.at)} · {who} · "
                                    f"{label_of(MESSAGE_ACTIONS, m.action)}", "cells"))
                thread.append(ctx.p(query_message(m.text, m.params, translate), "cell",
                                    direction=None if translate else "auto"))
            table.append([[ctx.p(ltr(f"#{q.id}"), "cellb"),
                           ctx.p(label_of(QUERY_KINDS, q.kind), "cells")],
                          ltr(pseudonym), where, thread or "",
                          [ctx.p(label_of(QUERY_STATES, q.status), "cellb"),
                           ctx.p(_("since %(at)s", at=d.utc_text(q.updated_at)), "cells")]])
            n += 1
            if n % 30 == 0:
                s.append(ctx.table(table, [0.1, 0.14, 0.22, 0.4, 0.14]))
                table = [header]
        if len(table) > 1:
            s.append(ctx.table(table, [0.1, 0.14, 0.22, 0.4, 0.14]))
    return s

"""The blank annotated CRF book: every form of the current definitions, in one language.

For each item: its label, its name (the annotation, also the export column), type, unit,
hard and expected ranges, codelist values with codes, ``show_if`` conditions in words,
and derivations; then the form's edit checks. A table of contents gives page numbers:
the book is laid out twice, the second time with the pages found by the first (the
contents have a fixed-width page column, so they take the same room both times).
"""
from __future__ import annotations

import io
from datetime import datetime

from flask_babel import gettext as _

from ..crf import catalog as cat
from ..crf.definitions import FormDef, ItemDef
from ..i18n import LANGUAGE_NAMES
from . import display as d
from .common import document, page_frame
from .pdf import Anchor, Ctx, build
from .textlayout import ltr


def _usage(schedule) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for v in schedule.visits:
        for oid in v.forms:
            used.setdefault(oid, []).append(v.code)
    for oid in schedule.unscheduled_forms:
        used.setdefault(oid, []).append(_("unscheduled visits"))
    for oid in schedule.log_forms:
        used.setdefault(oid, []).append(_("patient log"))
    return used


def _form_order(catalog) -> list[FormDef]:
    """Forms in the order the schedule first uses them, then the others by OID."""
    order: list[str] = []
    sched = catalog.schedule
    for oid in [*(o for v in sched.visits for o in v.forms), *sched.unscheduled_forms,
                *sched.log_forms, *sorted(catalog.forms)]:
        if oid not in order and oid in catalog.forms:
            order.append(oid)
    return [catalog.forms[o] for o in order]


def write_crf_book(out, lang: str, *, generated_at: datetime) -> int:
    """Build the book into ``out`` (a path or binary file); returns the page count."""
    with document(lang) as ctx:
        catalog = cat.catalog()
        forms = _form_order(catalog)
        frame = page_frame(_("Annotated blank CRF book"), _("MILenARI — eCRF definitions"),
                           generated_at)
        pages: dict[str, int] = {}
        for _pass in range(4):
            found: dict[str, int] = {}
            buf = io.BytesIO()
            count = build(buf, _story(ctx, catalog, forms, generated_at, pages, found),
                          frame, ctx, title=_("Annotated blank CRF book"))
            if found == pages:
                break
            pages = found
    data = buf.getvalue()
    if hasattr(out, "write"):
        out.write(data)
    else:
        with open(out, "wb") as fh:
            fh.write(data)
    return count


def _story(ctx: Ctx, catalog, forms: list[FormDef], generated_at, pages: dict,
           found: dict) -> list:
    s: list = []
    s.append(ctx.p(_("Annotated blank CRF book"), "title"))
    s.append(ctx.facts([
        (_("Trial"), _("MILenARI — CD19 CAR-T in children with relapsed or refractory "
                       "B-cell acute lymphoblastic leukaemia")),
        (_("Language"), LANGUAGE_NAMES.get(ctx.lang, ctx.lang)),
        (_("Generated"), d.utc_text(generated_at)),
        (_("Forms"), ltr(len(forms))),
    ]))
    s.append(ctx.space(6))
    s.append(ctx.p(_("How to read the annotations"), "h3"))
    for line in (
            _("[NAME] is the item's name: the column of the data exports and the ODM "
              "ItemOID."),
            _("Hard range: a value outside it is refused. Expected range: a value outside "
              "it is saved and raises an automatic query."),
            _("Codelists show each answer with its stored code in brackets."),
            _("“Shown if” gives the condition under which an item is asked; a hidden item "
              "is cleared on save."),
            _("Missing-data codes (ND not done, NA not applicable, UNK unknown, ASKU asked "
              "but unknown) may replace a value, with a reason, unless the item says "
              "otherwise.")):
        s.append(ctx.p("• " + line, "small"))

    # contents
    s.append(ctx.space(8))
    s.append(ctx.p(_("Contents"), "h2"))
    rows = [[_("Form"), _("Version"), _("Page")]]
    entries = [("schedule", _("Visit schedule"), "")]
    entries += [(f"form-{f.oid}", f"{d.tr(f.title)} ({ltr(f.oid)})", ltr(f.version))
                for f in forms]
    for key, title, version in entries:
        page = pages.get(key)
        rows.append([ctx.p(title, "cell", link=key), version,
                     ctx.p(ltr(page) if page else "…", "cell", align="end")])
    s.append(ctx.table(rows, [0.74, 0.12, 0.14]))

    # schedule
    s.append(ctx.page_break())
    s.append(Anchor("schedule", found, _("Visit schedule")))
    s.append(ctx.p(_("Visit schedule"), "h1"))
    sched = catalog.schedule
    rows = [[_("Visit"), _("Anchor"), _("Day"), _("Window (days)"), _("Forms")]]
    for v in sched.visits:
        rows.append([f"{d.tr(v.label)} ({ltr(v.code)})", ltr(v.anchor), ltr(v.day),
                     ltr(f"-{v.before} / +{v.after}"),
                     ltr(", ".join(v.forms))])
    s.append(ctx.table(rows, [0.34, 0.14, 0.08, 0.14, 0.30]))
    s.append(ctx.space(4))
    s.append(ctx.p(_("Forms at unscheduled visits: %(forms)s",
                     forms=ltr(", ".join(sched.unscheduled_forms))), "body"))
    s.append(ctx.p(_("Patient-level logs: %(forms)s", forms=ltr(", ".join(sched.log_forms))),
                   "body"))
    anchors = []
    for a in sched.anchors.values():
        src = a.patient_field if a.patient_field else f"{a.form}.{a.item} ({a.pick})"
        anchors.append(f"{ltr(a.name)}: {ltr(src)}")
    s.append(ctx.p(_("Anchors: %(anchors)s", anchors="; ".join(anchors)), "body"))

    used = _usage(sched)
    for form in forms:
        s.append(ctx.page_break())
        s.extend(_form(ctx, form, used.get(form.oid, []), found))
    return s


def _form(ctx: Ctx, form: FormDef, used: list[str], found: dict) -> list:
    title = d.tr(form.title)
    s: list = [Anchor(f"form-{form.oid}", found, f"{title} ({form.oid})")]
    s.append(ctx.p(f"{title} ({ltr(form.oid)})", "h1"))
    meta = [_("Version %(v)s", v=ltr(form.version)),
            _("Repeating: several records per visit") if form.repeating else
            _("One record per visit")]
    if used:
        meta.append(_("Used at: %(visits)s", visits=ltr(", ".join(used))
                      if all(u.isascii() for u in used) else ", ".join(used)))
    s.append(ctx.p(" · ".join(meta), "small"))
    header = [_("Item [NAME]"), _("Type"), _("Values and ranges"), _("Rules")]
    widths = [0.34, 0.14, 0.30, 0.22]
    for sec in form.sections:
        s.append(ctx.keep_room(80))
        s.append(ctx.p(d.tr(sec.title) or _("Items"), "h2"))
        if sec.show_if:
            from ..crf.expressions import parse
            s.append(ctx.p(_("Section shown if: %(cond)s",
                             cond=d.expression_text(parse(sec.show_if), form)), "small"))
        rows = [header]
        for name in sec.items:
            rows.append(_item_row(ctx, form, form.items[name], sec.show_if))
        s.append(ctx.table(rows, widths))
    if form.derived:
        s.append(ctx.keep_room(80))
        s.append(ctx.p(_("Computed items"), "h2"))
        s.append(ctx.p(_("Computed on save from the items named; never typed in."), "small"))
        rows = [[_("Item [NAME]"), _("Type"), _("Derivation")]]
        for item in form.derived:
            args = "; ".join(f"{ltr(a)} ← {_sources(form, src)}" for a, src in item.args)
            typ = d.type_label(item.type)
            if item.unit:
                typ += f" ({ltr(item.unit)})"
            rows.append([_label_cell(ctx, item), typ,
                         [ctx.p(_("Function %(fn)s", fn=ltr(item.function)), "cellb"),
                          ctx.p(args, "cell"),
                          *([ctx.p(_codes(item), "cells")] if item.codelist else [])]])
        s.append(ctx.table(rows, [0.34, 0.14, 0.52]))
    if form.checks:
        s.append(ctx.keep_room(80))
        s.append(ctx.p(_("Edit checks"), "h2"))
        rows = [[_("Check"), _("When"), _("Query message"), _("Action")]]
        for c in form.checks:
            rows.append([[ctx.p(ltr(c.name), "cellb"),
                          ctx.p(_("on %(item)s", item=d.item_ref(form, c.item)), "cells")],
                         d.expression_text(c.tree, form), d.tr(c.query),
                         _("Refuse the save") if c.action == "refuse" else
                         _("Open a query")])
        s.append(ctx.table(rows, [0.2, 0.34, 0.32, 0.14]))
    return s


def _sources(form: FormDef, src) -> str:
    """The items a derivation argument reads: this form's, or @FORM… references."""
    return ", ".join(ltr(x) if x.startswith("@") else d.item_ref(form, x)
                     for x in (src if isinstance(src, list) else [src]))


def _label_cell(ctx: Ctx, item: ItemDef) -> list:
    cell = [ctx.p(d.tr(item.label), "cell"), ctx.p(f"[{ltr(item.name)}]", "cellb")]
    if item.help:
        cell.append(ctx.p(d.tr(item.help), "cells"))
    return cell


def _codes(item: ItemDef) -> str:
    return "\n".join(f"{ltr(c.code)} = {d.tr(c.label)}" for c in item.codelist)


def _item_row(ctx: Ctx, form: FormDef, item: ItemDef, section_show_if: str | None) -> list:
    typ = [ctx.p(d.type_label(item.type), "cell")]
    if item.unit:
        typ.append(ctx.p(_("Unit: %(unit)s", unit=ltr(item.unit)), "cells"))
    if item.type == "decimal" and item.decimals is not None:
        typ.append(ctx.p(_("%(n)s decimals at most", n=ltr(item.decimals)), "cells"))
    if item.type == "text":
        typ.append(ctx.p(_("%(n)s characters at most", n=ltr(item.max_length)), "cells"))
    values = []
    if item.range:
        values.append(ctx.p(_("Hard range: %(r)s", r=d.range_text(item.range, item.unit)),
                            "cell"))
    if item.expected:
        values.append(ctx.p(_("Expected range: %(r)s",
                              r=d.range_text(item.expected, item.unit)), "cell"))
    if item.codelist:
        if item.codelist_name:
            values.append(ctx.p(_("Codelist %(name)s:", name=ltr(item.codelist_name)),
                                "cells"))
        values.append(ctx.p(_codes(item), "cell"))
    if item.type == "boolean":
        values.append(ctx.p(f"{ltr('true')} = {_('Yes')}\n{ltr('false')} = {_('No')}",
                            "cell"))
    rules = []
    rules.append(ctx.p(_("Required") if item.required else _("Optional"), "cellb"))
    tree = item.show_tree  # the item's own condition (its section's is printed above)
    if tree is not None and section_show_if:
        tree = tree[2] if item.show_if != f"({section_show_if})" else None
    if tree is not None:
        rules.append(ctx.p(_("Shown if: %(cond)s", cond=d.expression_text(tree, form)),
                           "cell"))
    if item.not_future:
        rules.append(ctx.p(_("Not in the future"), "cell"))
    if not item.missing:
        rules.append(ctx.p(_("No missing-data codes"), "cell"))
    return [_label_cell(ctx, item), typ, values or "", rules]

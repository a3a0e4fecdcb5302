"""CDISC ODM 1.3.2: the MetaDataVersion generated from the form definitions, and the
ClinicalData of every patient, streamed with lxml's incremental writer.

- Study events: the schedule's visits (Scheduled), ``SE.UNS`` (Unscheduled, repeat key =
  the number of the unscheduled visit) and ``SE.LOG`` (Common: patient-level logs).
- Each form version is a FormDef ``F.<OID>.V<version>`` with one ItemGroupDef; items are
  ``I.<OID>.V<version>.<NAME>`` with TranslatedText in ar/en/es/it, ranges as RangeChecks
  (hard and soft), codelists with translated decodes, derivations as MethodDefs, skip
  logic as collection exception ConditionDefs, and the SAS name of the export variable.
- A missing-data code is ``IsNull="Yes"`` with an Annotation flag from ``CL.MISSING``;
  the record status is an Annotation flag from ``CL.RECSTAT`` on the FormData.
- Multichoice values are the selected codes separated by ``;`` (text items).
- AuditRecords (optional): per value, the last change in the audit trail (who, where,
  when, why).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from ...crf.definitions import MISSING_CODES, FormDef, ItemDef
from ..plan import MISSING_LABELS, Codelists, Dataset
from ..texts import LANGS

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STUDY_OID = "ST.MILENARI"
RECSTAT = (("in_progress", "In progress"), ("complete", "Complete"))
DTYPES = {"text": "text", "integer": "integer", "decimal": "float", "date": "date",
          "datetime": "datetime", "boolean": "boolean", "multichoice": "text"}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _el(parent, tag: str, attrib: dict | None = None, text: str | None = None):
    e = etree.SubElement(parent, _q(tag), {k: str(v) for k, v in (attrib or {}).items()
                                           if v is not None})
    if text is not None:
        e.text = text
    return e


def _translated(parent, tag: str, texts, msgid: str, params: dict | None = None):
    holder = _el(parent, tag)
    for lang in LANGS:
        _el(holder, "TranslatedText", {XML_LANG: lang},
            texts.get(msgid, lang, params) if texts else msgid)
    return holder


def _stamp(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def form_oid(oid: str, version: int) -> str:
    return f"F.{oid}.V{version}"


def group_oid(oid: str, version: int) -> str:
    return f"IG.{oid}.V{version}"


def item_oid(oid: str, version: int, name: str) -> str:
    return f"I.{oid}.V{version}.{name}"


def event_of(visit: str) -> tuple[str, str | None]:
    if visit == "LOG":
        return "SE.LOG", None
    m = re.fullmatch(r"UNS([0-9]+)", visit)
    if m:
        return "SE.UNS", m.group(1)
    return f"SE.{visit}", None


class Metadata:
    """OIDs and the MetaDataVersion of a snapshot."""

    def __init__(self, datasets: list[Dataset], schedule, texts, *, mdv_oid: str):
        self.datasets, self.schedule, self.texts = datasets, schedule, texts
        self.mdv_oid = mdv_oid
        self.codelists = Codelists(datasets)
        self.units: dict[str, str] = {}
        self.sas_names: dict[tuple[str, str], str] = {}
        for ds in datasets:
            for v in ds.vars:
                if v.kind == "value":
                    self.sas_names[(ds.oid, v.item)] = v.names["sas"]
        for ds in datasets:
            for form in ds.forms:
                for it in form.items.values():
                    if it.unit and it.unit not in self.units:
                        self.units[it.unit] = None
        for i, u in enumerate(sorted(self.units), 1):
            self.units[u] = f"MU.{i}"

    def codelist_oid(self, item: ItemDef) -> str:
        return "CL." + self.codelists.id_for(item)

    # ------------------------------------------------------------------ the study
    def study(self, *, description: str) -> etree._Element:
        t = self.texts
        study = etree.Element(_q("Study"), {"OID": STUDY_OID}, nsmap={None: NS})
        gv = _el(study, "GlobalVariables")
        _el(gv, "StudyName", text="MILenARI")
        _el(gv, "StudyDescription", text=description)
        _el(gv, "ProtocolName", text="MILenARI")
        if self.units:
            bd = _el(study, "BasicDefinitions")
            for unit, oid in sorted(self.units.items(), key=lambda kv: kv[1]):
                mu = _el(bd, "MeasurementUnit", {"OID": oid, "Name": unit})
                _translated(mu, "Symbol", t, unit)
        mdv = _el(study, "MetaDataVersion", {
            "OID": self.mdv_oid, "Name": "MILenARI eCRF definitions",
            "Description": "Generated from the eCRF definitions (forms/*.yaml) of every "
                           "form version present in the data"})
        events = self._events()
        proto = _el(mdv, "Protocol")
        for i, (oid, _name, _typ, _rep, _forms, mandatory) in enumerate(events, 1):
            _el(proto, "StudyEventRef", {"StudyEventOID": oid, "OrderNumber": i,
                                         "Mandatory": "Yes" if mandatory else "No"})
        for oid, name, typ, rep, forms, _m in events:
            se = _el(mdv, "StudyEventDef", {"OID": oid, "Name": name,
                                            "Repeating": "Yes" if rep else "No",
                                            "Type": typ})
            _translated(se, "Description", t, name)
            for j, (foid, mand) in enumerate(forms, 1):
                _el(se, "FormRef", {"FormOID": foid, "OrderNumber": j,
                                    "Mandatory": "Yes" if mand else "No"})
        all_forms = [(ds, f) for ds in self.datasets for f in ds.forms]
        for ds, f in all_forms:
            fd = _el(mdv, "FormDef", {"OID": form_oid(f.oid, f.version), "Name": f.title,
                                      "Repeating": "Yes" if f.repeating else "No"})
            _translated(fd, "Description", t, f.title)
            _el(fd, "ItemGroupRef", {"ItemGroupOID": group_oid(f.oid, f.version),
                                     "Mandatory": "Yes"})
            _el(fd, "Alias", {"Context": "MILenARI:form", "Name": f.oid})
        conditions, methods = [], []
        for ds, f in all_forms:
            ig = _el(mdv, "ItemGroupDef", {
                "OID": group_oid(f.oid, f.version), "Name": f"{f.title} (v{f.version})",
                "Repeating": "No", "SASDatasetName": ds.member})
            for k, it in enumerate(f.items.values(), 1):
                attrs = {"ItemOID": item_oid(f.oid, f.version, it.name), "OrderNumber": k,
                         "Mandatory": "Yes" if it.required else "No"}
                if it.derived:
                    mt = f"MT.{f.oid}.V{f.version}.{it.name}"
                    attrs["MethodOID"] = mt
                    methods.append((mt, f, it))
                if it.show_if:
                    cd = f"CD.{f.oid}.V{f.version}.{it.name}"
                    attrs["CollectionExceptionConditionOID"] = cd
                    conditions.append((cd, f, it))
                _el(ig, "ItemRef", attrs)
        for ds, f in all_forms:
            for it in f.items.values():
                self._item_def(mdv, ds, f, it)
        for cid, name, choices, _users in self.codelists.entries:
            cl = _el(mdv, "CodeList", {"OID": "CL." + cid, "Name": name,
                                       "DataType": Codelists.datatype(choices)})
            for k, c in enumerate(choices, 1):
                cli = _el(cl, "CodeListItem", {"CodedValue": c.code, "OrderNumber": k})
                _translated(cli, "Decode", t, c.label)
        for oid, name, entries in (("CL.MISSING", "Missing-data codes",
                                    [(c, MISSING_LABELS[c]) for c in MISSING_CODES]),
                                   ("CL.RECSTAT", "Record status", list(RECSTAT))):
            cl = _el(mdv, "CodeList", {"OID": oid, "Name": name, "DataType": "text"})
            for k, (code, label) in enumerate(entries, 1):
                cli = _el(cl, "CodeListItem", {"CodedValue": code, "OrderNumber": k})
                _translated(cli, "Decode", t, label)
        for oid, f, it in conditions:
            cd = _el(mdv, "ConditionDef", {"OID": oid, "Name": f"{it.name} not collected"})
            d = _el(cd, "Description")
            _el(d, "TranslatedText", {XML_LANG: "en"},
                f"{it.name} is collected only when: {it.show_if}")
            _el(cd, "FormalExpression", {"Context": "MILenARI:expression"},
                f"not ({it.show_if})")
        for oid, f, it in methods:
            md = _el(mdv, "MethodDef", {"OID": oid, "Name": it.function or it.name,
                                        "Type": "Computation"})
            d = _el(md, "Description")
            _el(d, "TranslatedText", {XML_LANG: "en"}, f"{it.name} = {derivation(it)}")
            _el(md, "FormalExpression", {"Context": "Python:edc.clinical"}, derivation(it))
        return study

    def _events(self):
        """(OID, name, type, repeating, [(form OID, mandatory)], mandatory) per event."""
        versions: dict[str, list[int]] = {}
        for ds in self.datasets:
            versions[ds.oid] = ds.versions
        newest = {oid: max(v) for oid, v in versions.items()}

        def refs(oids, mandatory):
            out = []
            for oid in oids:
                for v in versions.get(oid, []):
                    out.append((form_oid(oid, v), mandatory and v == newest[oid]))
            return out
        sched = self.schedule
        out = [(f"SE.{v.code}", v.label, "Scheduled", False, refs(v.forms, True), True)
               for v in sched.visits]
        out.append(("SE.UNS", "Unscheduled visit", "Unscheduled", True,
                    refs(sched.unscheduled_forms, False), False))
        out.append(("SE.LOG", "Patient logs", "Common", False,
                    refs(sched.log_forms, False), False))
        return out

    def _item_def(self, mdv, ds: Dataset, f: FormDef, it: ItemDef) -> None:
        t = self.texts
        dtype = DTYPES.get(it.type, "text")
        attrs = {"OID": item_oid(f.oid, f.version, it.name), "Name": it.name}
        cl_oid = None
        if it.codelist and it.type != "multichoice":
            oid = self.codelist_oid(it)
            cl_dtype = Codelists.datatype(it.codelist)
            if it.type == "choice":
                dtype, cl_oid = cl_dtype, oid
            elif dtype == cl_dtype:      # e.g. a derived integer grade with its codelist
                cl_oid = oid
        attrs["DataType"] = dtype
        if it.type == "text":
            attrs["Length"] = it.max_length
        elif it.type == "multichoice":
            attrs["Length"] = max(1, sum(len(c.code) + 1 for c in it.codelist))
        elif dtype == "text" and it.codelist:
            attrs["Length"] = max(len(c.code) for c in it.codelist)
        if it.type == "decimal" and it.decimals is not None:
            attrs["SignificantDigits"] = it.decimals
        sas = self.sas_names.get((ds.oid, it.name))
        if sas and it.type != "multichoice":
            attrs["SASFieldName"] = sas
        idef = _el(mdv, "ItemDef", attrs)
        if it.help:
            _translated(idef, "Description", t, it.help)
        _translated(idef, "Question", t, it.label)
        if it.unit:
            _el(idef, "MeasurementUnitRef", {"MeasurementUnitOID": self.units[it.unit]})
        for bounds, soft in ((it.range, "Hard"), (it.expected, "Soft")):
            if not bounds:
                continue
            for bound, comp in zip(bounds, ("GE", "LE")):
                if bound is None:
                    continue
                rc = _el(idef, "RangeCheck", {"Comparator": comp, "SoftHard": soft})
                _el(rc, "CheckValue", text=str(bound))
        if cl_oid:
            _el(idef, "CodeListRef", {"CodeListOID": cl_oid})
        if it.type == "multichoice":
            mc_oid = self.codelist_oid(it)
            _el(idef, "Alias", {"Context": "MILenARI:multichoice-codelist", "Name": mc_oid})
        if it.derived:
            _el(idef, "Alias", {"Context": "MILenARI:derived", "Name": it.function or ""})


def derivation(it: ItemDef) -> str:
    def src(s):
        return "[" + ", ".join(src(x) for x in s) + "]" if isinstance(s, list) else str(s)
    return f"{it.function}(" + ", ".join(f"{a}={src(s)}" for a, s in it.args) + ")"


# ---------------------------------------------------------------- the file
_ESC = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
        ord("\n"): "&#10;", ord("\r"): "&#13;", ord("\t"): "&#9;"}
_ESC.update({c: None for c in (*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF)})


def _text(value) -> str:
    if value.__class__ is bool:
        return "1" if value else "0"
    if value.__class__ is list:
        return ";".join(str(c) for c in value)
    return str(value)


_SAFE = re.compile(r"[0-9A-Za-z.:+-]*").fullmatch


def _plain(value) -> str:
    """Numbers, ISO dates and times (as the engine stores them) need no escaping."""
    if value.__class__ is int:
        return str(value)
    if value.__class__ is str and _SAFE(value):
        return value
    return attr(_text(value))


def _bool(value) -> str:
    return "1" if value is True else ("0" if value is False else attr(_text(value)))


PLAIN = {"integer": _plain, "decimal": _plain, "date": _plain, "datetime": _plain,
         "boolean": _bool}


def attr(text) -> str:
    """A value escaped for an XML attribute (characters XML 1.0 forbids are dropped)."""
    return str(text).translate(_ESC)


def write(path: Path, meta: Metadata, records, *, file_oid: str, as_of: datetime,
          description: str, sites: list[tuple[str, str]], defs, audit=None,
          users: list[tuple[int | None, str]] | None = None) -> int:
    """Write the ODM file; ``records`` are by patient (Source.by_patient). Returns the
    number of ItemData written. ``audit(record_ids)`` -> {(record_id, item): (user_id,
    at, reason)} when AuditRecords are wanted.

    The metadata are built with lxml; the clinical data (a million values) are written
    as text, escaped here, then the whole file validates against the ODM schema (tests).
    """
    stamp = _stamp(as_of)
    admin = etree.Element(_q("AdminData"), {"StudyOID": STUDY_OID}, nsmap={None: NS})
    for uid, name in (users or []):
        u = _el(admin, "User", {"OID": f"USR.{uid or 0}"})
        _el(u, "FullName", text=name or "system")
    for code, name in sites:
        loc = _el(admin, "Location", {"OID": f"LOC.{code}", "Name": name,
                                      "LocationType": "Site"})
        _el(loc, "MetaDataVersionRef", {"StudyOID": STUDY_OID,
                                        "MetaDataVersionOID": meta.mdv_oid,
                                        "EffectiveDate": as_of.date().isoformat()})
    study = meta.study(description=description)
    root_attrs = {"FileType": "Snapshot", "FileOID": file_oid, "CreationDateTime": stamp,
                  "AsOfDateTime": stamp, "ODMVersion": "1.3.2", "Granularity": "All",
                  "Description": description, "Originator": "MILenARI EDC",
                  "SourceSystem": "MILenARI EDC", "SourceSystemVersion": _version()}
    n_items = 0
    forms: dict[tuple[str, int], list] = {}
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        w = fh.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w(f'<ODM xmlns="{NS}"' + "".join(f' {k}="{attr(v)}"' for k, v in root_attrs.items())
          + ">\n")
        w(_fragment(study))
        w(_fragment(admin))
        w(f'<ClinicalData StudyOID="{STUDY_OID}" MetaDataVersionOID="{attr(meta.mdv_oid)}">\n')
        for patient_recs in _by_patient(records):
            n_items += _subject(w, patient_recs, defs, forms, audit)
        w("</ClinicalData>\n</ODM>\n")
    return n_items


def _fragment(el) -> str:
    """An element as text without its (inherited) namespace declaration."""
    text = etree.tostring(el, encoding="unicode", pretty_print=True)
    return text.replace(f' xmlns="{NS}"', "", 1)


def _by_patient(records):
    current, batch = None, []
    for r in records:
        if r.patient_id != current and batch:
            yield batch
            batch = []
        current = r.patient_id
        batch.append(r)
    if batch:
        yield batch


def _form_items(defs, forms, oid: str, version: int):
    key = (oid, version)
    spec = forms.get(key)
    if spec is None:
        form = defs.get(oid, version)
        spec = forms[key] = [form.repeating, [
            (it.name, f'          <ItemData ItemOID="{attr(item_oid(oid, version, it.name))}"',
             PLAIN.get(it.type)) for it in form.items.values()]]
    return spec


def _subject(w, recs, defs, forms, audit) -> int:
    first = recs[0]
    trail = audit([r.id for r in recs]) if audit else {}
    out = [f'  <SubjectData SubjectKey="{attr(first.pseudonym)}">\n',
           f'    <SiteRef LocationOID="LOC.{attr(first.site)}"/>\n']
    n = 0
    ev_key = None
    for r in recs:
        if r.visit != ev_key:
            if ev_key is not None:
                out.append("    </StudyEventData>\n")
            oid, repeat = event_of(r.visit)
            rk = f' StudyEventRepeatKey="{attr(repeat)}"' if repeat else ""
            out.append(f'    <StudyEventData StudyEventOID="{attr(oid)}"{rk}>\n')
            ev_key = r.visit
        repeating, items = _form_items(defs, forms, r.oid, r.version)
        fk = f' FormRepeatKey="{r.seq}"' if repeating else ""
        out.append(f'      <FormData FormOID="{attr(form_oid(r.oid, r.version))}"{fk}>\n'
                   f'        <Annotation SeqNum="1"><Flag><FlagValue CodeListOID='
                   f'"CL.RECSTAT">{attr(r.status)}</FlagValue></Flag></Annotation>\n'
                   f'        <ItemGroupData ItemGroupOID="'
                   f'{attr(group_oid(r.oid, r.version))}">\n')
        values, missing = r.values, r.missing
        for name, head, plain in items:
            value = values.get(name)
            miss = missing.get(name) if missing else None
            if value is None and not miss:
                continue
            n += 1
            last = trail.get((r.id, name)) if trail else None
            if miss:
                out.append(head + ' IsNull="Yes">')
            else:
                text = plain(value) if plain is not None else attr(_text(value))
                if last is None:
                    out.append(f'{head} Value="{text}"/>\n')
                    continue
                out.append(f'{head} Value="{text}">')
            if last is not None:
                uid, at, reason = last
                out.append(f'<AuditRecord><UserRef UserOID="USR.{uid or 0}"/><LocationRef '
                           f'LocationOID="LOC.{attr(r.site)}"/><DateTimeStamp>{_stamp(at)}'
                           f'</DateTimeStamp>')
                if reason:
                    out.append(f"<ReasonForChange>{attr(reason)}</ReasonForChange>")
                out.append("</AuditRecord>")
            if miss:
                out.append(f'<Annotation SeqNum="1"><Flag><FlagValue CodeListOID='
                           f'"CL.MISSING">{attr(miss.get("code"))}</FlagValue></Flag>'
                           f'</Annotation>')
            out.append("</ItemData>\n")
        out.append("        </ItemGroupData>\n      </FormData>\n")
    if ev_key is not None:
        out.append("    </StudyEventData>\n")
    out.append("  </SubjectData>\n")
    w("".join(out))
    return n


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("milenari-edc")
    except Exception:  # noqa: BLE001
        return "0"

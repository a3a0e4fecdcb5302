"""Form status icons: the state of each form record as research coordinators know it from
other EDCs — not started, in progress, complete, open query, verified, signed, locked.

The state is derived from the data already kept (records, queries, SDV marks,
signatures, locks); nothing new is stored. :func:`record_states` reads them for any
number of records with at most three statements (open queries, SDV marks, and one for
signatures, locks and the database lock) — never one per record; none for SDV marks when
no record is complete.

Priority, when several apply (the icon shown is the first that applies)::

    locked > signed > open_query > verified > complete > in_progress > not_started

- locked: the form is frozen, or its patient, its site or the whole database is locked;
- signed: a valid investigator signature (of its visit or of the casebook) covers it;
- open_query: it has an unresolved query (open, or answered and awaiting the monitor);
- verified: complete, and every entered item has an active SDV mark;
- complete / in_progress: the record's own status; not_started: no record yet.

An unresolved query still needs someone to act even when the form is locked or signed,
so :attr:`FormState.icons` adds the query icon after a locked or signed one.

For a form slot of a visit (several records for a repeating form), :func:`slot_state`
applies the same order to the set: locked, signed, verified and complete need every
record; an open query on any record shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace

from sqlalchemy import (Integer, bindparam, case, cast, literal, null, or_, select,
                        union_all)

from ..extensions import db
from .values import N_

PRIORITY = ("locked", "signed", "open_query", "verified", "complete", "in_progress",
            "not_started")
LABELS = {
    "not_started": N_("Not started"),
    "in_progress": N_("In progress"),
    "complete": N_("Complete"),
    "open_query": N_("Open query"),
    "verified": N_("Verified (SDV)"),
    "signed": N_("Signed"),
    "locked": N_("Locked"),
}
#: what each icon means, for the legend
DESCRIPTIONS = {
    "not_started": N_("No data entered yet."),
    "in_progress": N_("Saved, not yet marked complete."),
    "complete": N_("Marked complete by the site."),
    "open_query": N_("Has a query that is not closed yet (open, or answered and awaiting "
                     "the monitor)."),
    "verified": N_("Every entered item verified against source by a monitor."),
    "signed": N_("Covered by a valid investigator signature."),
    "locked": N_("Frozen, or its patient, site or database is locked: no change is "
                 "possible."),
}
#: the flags that must hold for every record of a slot (the others: for any record)
_ALL_OF = ("locked", "signed", "verified", "complete")
CHUNK = 500   # ids per IN (…) list, well below the bind-parameter limits


@dataclass
class FormState:
    """The flags that apply to one record (or slot), and the state to show."""
    flags: set = field(default_factory=set)

    @property
    def state(self) -> str:
        for s in PRIORITY:
            if s in self.flags:
                return s
        return "not_started"

    @property
    def icons(self) -> list[str]:
        """The state, plus the open-query icon when a locked/signed state hides it."""
        s = self.state
        if s in ("locked", "signed") and "open_query" in self.flags:
            return [s, "open_query"]
        return [s]


NOT_STARTED = FormState({"not_started"})


def _chunks(ids):
    ids = sorted(set(ids))
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


@cache
def _statements() -> SimpleNamespace:
    """The queries of :func:`record_states`, built once (ids bound at execution): building
    a statement's clauses cost about as much as running it on a page."""
    from ..queries.models import Query, SdvMark
    from ..queries.services import ACTIVE

    def ids(name):
        return bindparam(name, expanding=True)
    return SimpleNamespace(
        queried=select(Query.record_id).where(Query.record_id.in_(ids("rids")),
                                              Query.status.in_(ACTIVE)).distinct(),
        marks=select(SdvMark.record_id, SdvMark.item).where(
            SdvMark.record_id.in_(ids("rids")), SdvMark.cleared_at.is_(None)),
        covers=_covers_select([ids("sids")], [ids("pids")], [ids("rids")]))


def _covers_select(sids, pids, rids):
    """What covers these records, in one statement (each a list of IN lists of ids): rows
    (kind, record ids, id, site, patient, record) of the signatures of the patients
    ("signature" when valid, "void" otherwise: only the panel shows those), the database
    lock in force ("database") and the active site, patient and form locks that cover
    them (their scope, their id)."""
    from ..exports.models import in_force
    from ..signing.locks import covering
    from ..signing.models import DataLock, Signature
    no_id = cast(null(), Integer)   # typed: PostgreSQL matches UNION columns pairwise
    signatures = select(
        case((Signature.status == "valid", literal("signature")), else_=literal("void"))
        .label("kind"), Signature.record_ids, Signature.id, no_id.label("site_id"),
        Signature.patient_id, no_id.label("record_id")).where(
        or_(*[Signature.patient_id.in_(c) for c in pids]))
    database = select(literal("database"), null(), no_id, no_id, no_id, no_id).where(
        in_force())

    def among(chunks):
        return lambda column: or_(*[column.in_(c) for c in chunks])
    locks = select(DataLock.scope, null(), DataLock.id, DataLock.site_id,
                   DataLock.patient_id, DataLock.record_id).where(
        covering(among(sids), among(pids), among(rids)))
    return union_all(signatures, database, locks)


@dataclass
class Covers:
    """What covers a page's records (:func:`read_covers`): their signatures and locks."""
    signed: set = field(default_factory=set)           # record ids under a valid signature
    signed_patients: set = field(default_factory=set)  # patients with any signature
    database: bool = False                             # the database lock is in force
    sites: dict = field(default_factory=dict)          # site id -> its lock's id
    patients: dict = field(default_factory=dict)       # patient id -> its lock's id
    frozen: dict = field(default_factory=dict)         # record id -> its lock's id

    def locked(self, r) -> bool:
        return self.database or r.site_id in self.sites or \
            r.patient_id in self.patients or r.id in self.frozen


def read_covers(records, *, sites=(), patients=()) -> Covers:
    """The signatures and locks covering these records, and the sites and patients given
    (a patient page: its patient, even without records), in one statement."""
    rids = [r.id for r in records if r.id is not None]
    pids = sorted({r.patient_id for r in records} | set(patients))
    sids = sorted({r.site_id for r in records} | set(sites))
    pid_chunks, rid_chunks = list(_chunks(pids)), list(_chunks(rids))
    if len(pid_chunks) <= 1 and len(rid_chunks) <= 1:  # the usual page
        rows = db.session.execute(_statements().covers, {
            "sids": sids, "pids": pid_chunks[0] if pid_chunks else [],
            "rids": rid_chunks[0] if rid_chunks else []})
    else:  # still one statement: an IN list per chunk
        rows = db.session.execute(_covers_select([sids], pid_chunks, rid_chunks))
    out = Covers()
    for kind, ids, id_, sid, pid, rid in rows:
        if kind == "signature":
            out.signed.update(int(x) for x in (ids or []))
            out.signed_patients.add(pid)
        elif kind == "void":
            out.signed_patients.add(pid)
        elif kind == "database":
            out.database = True
        elif kind == "site":
            out.sites[sid] = id_
        elif kind == "patient":
            out.patients[pid] = id_
        else:
            out.frozen[rid] = id_
    return out


def record_states(records, open_counts: dict[int, int] | None = None,
                  covers: Covers | None = None, marks: dict | None = None
                  ) -> dict[int, FormState]:
    """``{record id: FormState}`` for live records (FormRecord objects).

    When the caller already has them, for all of these records: ``open_counts``, the
    active queries per record (queries.services.open_counts); ``covers``, what
    :func:`read_covers` read for them; ``marks``, their SDV marks
    (queries.sdv.marks)."""
    from ..queries.sdv import record_verified

    records = [r for r in records if r.id is not None]
    out = {r.id: FormState({r.status if r.status in ("complete", "in_progress")
                            else "in_progress"}) for r in records}
    if not records:
        return out
    rids = [r.id for r in records]
    st = _statements()

    queried: set[int] = set()
    active_marks: dict[int, dict] = {}
    if open_counts is not None:
        queried.update(rid for rid, n in open_counts.items() if n)
    else:
        for chunk in _chunks(rids):
            queried.update(db.session.scalars(st.queried, {"rids": chunk}))
    if marks is not None:
        active_marks = marks
    else:  # only a complete record can be verified: no SDV marks to read without one
        for chunk in _chunks([r.id for r in records if r.status == "complete"]):
            for rid, item in db.session.execute(st.marks, {"rids": chunk}):
                active_marks.setdefault(rid, {})[item] = _ACTIVE_MARK
    if covers is None:
        covers = read_covers(records)

    for r in records:
        flags = out[r.id].flags
        if r.status == "complete":
            flags.add("complete")
            if record_verified(r, active_marks.get(r.id, {})):
                flags.add("verified")
        if r.id in queried:
            flags.add("open_query")
        if r.id in covers.signed:
            flags.add("signed")
        if covers.locked(r):
            flags.add("locked")
    return out


class _Mark:
    cleared_at = None


_ACTIVE_MARK = _Mark()


def icons_once(macro):
    """``macro(fstate, label=…)`` (``state_icons`` of status/_icons.html) remembered for
    one page: a timeline shows an icon per form, mostly the same few; each distinct one is
    written by the macro once, then reused. Its HTML depends only on the icons shown and
    ``label`` (the words are the page's language)."""
    memo: dict = {}

    def icons(fstate: FormState, label: bool = True):
        key = (tuple(fstate.icons), label)
        html = memo.get(key)
        if html is None:
            html = memo[key] = macro(fstate, label=label)
        return html
    return icons


def slot_state(records, states: dict[int, FormState]) -> FormState:
    """The state of a visit's form slot from its records (none: not started)."""
    sets = [states[r.id].flags for r in records if r.id in states]
    if not sets:
        return NOT_STARTED
    flags = {"in_progress"}
    for f in _ALL_OF:
        if all(f in s for s in sets):
            flags.add(f)
    if any("open_query" in s for s in sets):
        flags.add("open_query")
    return FormState(flags)

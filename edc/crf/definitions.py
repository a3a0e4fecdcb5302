"""Loading and validating eCRF definitions (forms/*.yaml) into immutable objects.

Pure: no Flask. ``load_catalog(dir)`` returns every form and the schedule, or raises
:class:`DefinitionError` listing each problem as ``file:ITEM: problem``.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

from ..clinical import FUNCTIONS
from . import expressions

TYPES = ("text", "integer", "decimal", "date", "datetime", "boolean", "choice",
         "multichoice")
DERIVED_TYPES = ("integer", "decimal", "boolean", "text", "choice")
MISSING_CODES = ("ND", "NA", "UNK", "ASKU")
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
OID_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")

FORM_KEYS = {"oid", "version", "title", "repeating", "codelists", "sections", "derived",
             "checks"}
SECTION_KEYS = {"title", "show_if", "items"}
ITEM_KEYS = {"name", "label", "help", "type", "unit", "range", "expected", "decimals",
             "required", "max_length", "codelist", "show_if", "not_future", "missing"}
DERIVED_KEYS = {"name", "label", "help", "type", "unit", "codelist", "function", "args",
                "decimals"}
CHECK_KEYS = {"name", "when", "item", "query", "action"}
SPECIAL_FILES = {"schedule.yaml", "codelists.yaml", "summary.yaml"}


class DefinitionError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid form definitions:\n" + "\n".join(problems))


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass(frozen=True)
class ItemDef:
    name: str
    label: str
    type: str
    help: str | None = None
    unit: str | None = None
    range: tuple[Any, Any] | None = None
    expected: tuple[Any, Any] | None = None
    decimals: int | None = None
    required: bool = False
    max_length: int = 200
    codelist: tuple[Choice, ...] = ()
    codelist_name: str | None = None
    show_if: str | None = None          # source text (item's own, and its section's)
    show_tree: list | None = None       # parsed, item and section combined
    not_future: bool = False
    missing: bool = True
    derived: bool = False
    function: str | None = None
    args: tuple[tuple[str, Any], ...] = ()
    section: int = 0

    def label_of(self, code) -> str | None:
        for c in self.codelist:
            if c.code == code:
                return c.label
        return None


@dataclass(frozen=True)
class CheckDef:
    name: str
    when: str
    tree: list
    item: str
    query: str
    action: str = "query"


@dataclass(frozen=True)
class SectionDef:
    title: str
    show_if: str | None
    items: tuple[str, ...]


@dataclass(frozen=True)
class FormDef:
    oid: str
    version: int
    title: str
    repeating: bool
    sections: tuple[SectionDef, ...]
    items: dict[str, ItemDef] = field(hash=False)
    checks: tuple[CheckDef, ...]
    content_hash: str
    source: str
    path: str

    # A definition never changes once loaded: what every request derives from it is
    # computed once (stored in the instance's __dict__, which a frozen dataclass allows).
    def _memo(self, key: str, compute):
        try:
            return self.__dict__[key]
        except KeyError:
            value = self.__dict__[key] = compute()
            return value

    @property
    def entered(self) -> list[ItemDef]:
        return list(self._memo("_entered", lambda: tuple(
            i for i in self.items.values() if not i.derived)))

    @property
    def derived(self) -> list[ItemDef]:
        return list(self._memo("_derived", lambda: tuple(
            i for i in self.items.values() if i.derived)))

    def refs(self) -> set[str]:
        return set(self._memo("_refs", lambda: frozenset(self._refs())))

    def _refs(self) -> set[str]:
        out: set[str] = set()
        for i in self.items.values():
            if i.show_tree:
                out |= expressions.refs(i.show_tree)
            for _, src in i.args:
                for s in (src if isinstance(src, list) else [src]):
                    if isinstance(s, str) and s.startswith("@"):
                        out.add(s)
        for c in self.checks:
            out |= expressions.refs(c.tree)
        return out


def content_hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Problems:
    def __init__(self, where: str):
        self.where, self.list = where, []

    def add(self, item: str | None, msg: str):
        self.list.append(f"{self.where}:{item}: {msg}" if item else f"{self.where}: {msg}")


def _unknown(p: _Problems, where: str | None, data: dict, allowed: set):
    for k in data:
        if k not in allowed:
            p.add(where, f"unknown key '{k}'")


def _codelist(raw, p, where) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        p.add(where, "a codelist is a non-empty list of {code, label}")
        return ()
    out, seen = [], set()
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) != {"code", "label"}:
            p.add(where, f"codelist entry must have exactly code and label: {entry!r}")
            continue
        code = str(entry["code"])
        if code in seen:
            p.add(where, f"duplicate code '{code}' in codelist")
        seen.add(code)
        out.append(Choice(code, str(entry["label"])))
    return tuple(out)


def _range(raw, p, where, key, typ):
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= {"min", "max"} or not raw:
        p.add(where, f"'{key}' needs min and/or max")
        return None
    lo, hi = raw.get("min"), raw.get("max")
    conv = []
    for v in (lo, hi):
        if v is None:
            conv.append(None)
        elif typ in ("integer", "decimal"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                p.add(where, f"'{key}' bounds must be numbers")
                return None
            conv.append(v)
        elif typ in ("date", "datetime"):
            conv.append(str(v))
        else:
            p.add(where, f"'{key}' is not allowed for type {typ}")
            return None
    if conv[0] is not None and conv[1] is not None and conv[0] > conv[1]:
        p.add(where, f"'{key}' min is above max")
    return (conv[0], conv[1])


def parse_form(data: Any, path: str, shared_codelists: dict[str, tuple[Choice, ...]],
               source: str = "") -> tuple[FormDef | None, list[str]]:
    """Build a FormDef from parsed YAML; returns (form or None, problems)."""
    name = Path(path).name
    p = _Problems(name)
    if not isinstance(data, dict):
        p.add(None, "a form definition is a mapping")
        return None, p.list
    _unknown(p, None, data, FORM_KEYS)
    oid = data.get("oid")
    if not isinstance(oid, str) or not OID_RE.match(oid):
        p.add(None, "oid must be upper case letters, digits and _ (max 16)")
        oid = str(oid)
    elif Path(path).stem != oid and path.endswith(".yaml") and "/" in path:
        p.add(None, f"the file of form {oid} must be named {oid}.yaml")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        p.add(None, "version must be a positive integer")
        version = 0
    if not isinstance(data.get("title"), str):
        p.add(None, "title is required")
    codelists = dict(shared_codelists)
    for cl_name, raw in (data.get("codelists") or {}).items():
        codelists[cl_name] = _codelist(raw, p, f"codelist {cl_name}")

    items: dict[str, ItemDef] = {}
    sections = []
    pending_trees: list[tuple[str, list]] = []

    def parse_expr(where, text):
        try:
            return expressions.parse(text)
        except expressions.ExpressionError as e:
            p.add(where, f"bad expression {text!r}: {e}")
            return None

    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        p.add(None, "sections must be a non-empty list")
        raw_sections = []
    for si, sec in enumerate(raw_sections):
        if not isinstance(sec, dict):
            p.add(None, f"section {si + 1} must be a mapping")
            continue
        _unknown(p, f"section {si + 1}", sec, SECTION_KEYS)
        sec_tree = parse_expr(f"section {si + 1}", sec["show_if"]) if sec.get("show_if") \
            else None
        names = []
        for raw in sec.get("items") or []:
            if not isinstance(raw, dict):
                p.add(None, f"an item of section {si + 1} is not a mapping")
                continue
            iname = raw.get("name")
            if not isinstance(iname, str) or not NAME_RE.match(iname):
                p.add(str(iname), "item name must match [A-Z][A-Z0-9_]{0,31}")
                continue
            _unknown(p, iname, raw, ITEM_KEYS)
            if iname in items:
                p.add(iname, "duplicate item name")
                continue
            typ = raw.get("type")
            if typ not in TYPES:
                p.add(iname, f"unknown type {typ!r} (one of {', '.join(TYPES)})")
                continue
            if not isinstance(raw.get("label"), str):
                p.add(iname, "label is required")
            cl = ()
            if typ in ("choice", "multichoice"):
                cln = raw.get("codelist")
                if cln not in codelists:
                    p.add(iname, f"unknown codelist {cln!r}")
                else:
                    cl = codelists[cln]
            elif "codelist" in raw:
                p.add(iname, f"codelist is only for choice and multichoice, not {typ}")
            own_tree = parse_expr(iname, raw["show_if"]) if raw.get("show_if") else None
            tree = own_tree
            if sec_tree is not None:
                tree = sec_tree if own_tree is None else ["and", sec_tree, own_tree]
            if tree is not None:
                pending_trees.append((iname, tree))
            show_src = " and ".join(f"({s})" for s in (sec.get("show_if"), raw.get("show_if"))
                                    if s) or None
            max_length = raw.get("max_length", 200)
            if typ == "text" and (not isinstance(max_length, int) or not
                                  1 <= max_length <= 4000):
                p.add(iname, "max_length must be 1-4000")
            decimals = raw.get("decimals")
            if decimals is not None and (typ != "decimal" or not isinstance(decimals, int)):
                p.add(iname, "decimals is an integer, for decimal items only")
            items[iname] = ItemDef(
                name=iname, label=str(raw.get("label", "")), help=raw.get("help"), type=typ,
                unit=raw.get("unit"), range=_range(raw.get("range"), p, iname, "range", typ),
                expected=_range(raw.get("expected"), p, iname, "expected", typ),
                decimals=decimals, required=bool(raw.get("required", False)),
                max_length=max_length if typ == "text" else 200, codelist=cl,
                codelist_name=raw.get("codelist"), show_if=show_src, show_tree=tree,
                not_future=bool(raw.get("not_future", False)),
                missing=bool(raw.get("missing", True)), section=si)
            names.append(iname)
        sections.append(SectionDef(str(sec.get("title", "")), sec.get("show_if"),
                                   tuple(names)))

    for raw in data.get("derived") or []:
        if not isinstance(raw, dict):
            p.add(None, "a derived item is a mapping")
            continue
        dname = raw.get("name")
        if not isinstance(dname, str) or not NAME_RE.match(dname):
            p.add(str(dname), "derived name must match [A-Z][A-Z0-9_]{0,31}")
            continue
        _unknown(p, dname, raw, DERIVED_KEYS)
        if dname in items:
            p.add(dname, "duplicate item name")
            continue
        typ = raw.get("type", "decimal")
        if typ not in DERIVED_TYPES:
            p.add(dname, f"derived type must be one of {', '.join(DERIVED_TYPES)}")
        fn = raw.get("function")
        if fn not in FUNCTIONS:
            p.add(dname, f"unknown function {fn!r}")
        args = raw.get("args") or {}
        if not isinstance(args, dict):
            p.add(dname, "args is a mapping of function argument to item")
            args = {}
        elif fn in FUNCTIONS:
            params = inspect.signature(FUNCTIONS[fn].func).parameters
            for a in args:
                if a not in params:
                    p.add(dname, f"function {fn} has no argument '{a}'")
            for req in FUNCTIONS[fn].required:
                if req not in args:
                    p.add(dname, f"function {fn} needs the argument '{req}'")
        for a, src in args.items():
            for s in (src if isinstance(src, list) else [src]):
                if not isinstance(s, str):
                    p.add(dname, f"argument {a} must name an item")
                elif s.startswith("@"):
                    if not expressions.REF_RE.fullmatch(s):
                        p.add(dname, f"bad reference {s!r}")
                elif s not in items:
                    p.add(dname, f"argument {a} refers to unknown item {s}")
        cl = ()
        if raw.get("codelist"):
            cl = codelists.get(raw["codelist"], ())
            if not cl:
                p.add(dname, f"unknown codelist {raw['codelist']!r}")
        items[dname] = ItemDef(
            name=dname, label=str(raw.get("label", dname)), help=raw.get("help"), type=typ,
            unit=raw.get("unit"), codelist=cl, codelist_name=raw.get("codelist"),
            derived=True, function=fn, decimals=raw.get("decimals"),
            args=tuple((a, list(s) if isinstance(s, list) else s) for a, s in args.items()),
            section=len(sections) - 1 if sections else 0)

    for iname, tree in pending_trees:
        for n in expressions.names(tree):
            if n not in items:
                p.add(iname, f"show_if refers to unknown item {n}")

    checks, seen_checks = [], set()
    for raw in data.get("checks") or []:
        if not isinstance(raw, dict):
            p.add(None, "a check is a mapping")
            continue
        cname = str(raw.get("name", ""))
        _unknown(p, cname or "check", raw, CHECK_KEYS)
        if not NAME_RE.match(cname):
            p.add(cname or "check", "check name must match [A-Z][A-Z0-9_]{0,31}")
        if cname in seen_checks:
            p.add(cname, "duplicate check name")
        seen_checks.add(cname)
        tree = parse_expr(cname, raw.get("when", ""))
        if tree is not None:
            for n in expressions.names(tree):
                if n not in items:
                    p.add(cname, f"check refers to unknown item {n}")
        if raw.get("item") not in items:
            p.add(cname, f"check item {raw.get('item')!r} is not an item of the form")
        if not isinstance(raw.get("query"), str) or not raw["query"].strip():
            p.add(cname, "query (the message) is required")
        action = raw.get("action", "query")
        if action not in ("query", "refuse"):
            p.add(cname, "action must be query or refuse")
        if tree is not None:
            checks.append(CheckDef(cname, str(raw.get("when")), tree, str(raw.get("item")),
                                   str(raw.get("query", "")), action))
    if p.list:
        return None, p.list
    return FormDef(oid=oid, version=version, title=str(data["title"]),
                   repeating=bool(data.get("repeating", False)), sections=tuple(sections),
                   items=items, checks=tuple(checks), content_hash=content_hash(data),
                   source=source, path=path), []


@dataclass
class Catalog:
    forms: dict[str, FormDef]
    schedule: Any  # edc.schedule.definitions.Schedule
    codelists: dict[str, tuple[Choice, ...]]
    shared_source: str = ""
    summary: tuple = ()  # edc.crf.summary.SummaryField, from forms/summary.yaml


def load_shared_codelists(directory: Path, problems: list[str]) -> tuple[dict, str]:
    path = directory / "codelists.yaml"
    if not path.exists():
        return {}, ""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        problems.append(f"codelists.yaml: not valid YAML: {e}")
        return {}, text
    p = _Problems("codelists.yaml")
    out = {name: _codelist(raw, p, name) for name, raw in data.items()}
    problems.extend(p.list)
    return out, text


def load_catalog(directory: str | Path) -> Catalog:
    from ..schedule.definitions import load_schedule
    directory = Path(directory)
    problems: list[str] = []
    shared, shared_src = load_shared_codelists(directory, problems)
    forms: dict[str, FormDef] = {}
    broken: set[str] = set()  # forms with their own problems: no cascade of errors
    for path in sorted(directory.glob("*.yaml")):
        if path.name in SPECIAL_FILES:
            continue
        text = path.read_text(encoding="utf-8")
        try:
            # _Loader is yaml.CSafeLoader or yaml.SafeLoader: no arbitrary objects.
            data = yaml.load(text, Loader=_Loader)  # nosec B506
        except yaml.YAMLError as e:
            problems.append(f"{path.name}: not valid YAML: {e}")
            broken.add(path.stem)
            continue
        # Shared codelists a form uses are part of its content (for the version check).
        form, errs = parse_form(data, str(path), shared, text)
        problems.extend(errs)
        if errs:
            broken.add(path.stem)
        if form is not None:
            if form.oid in forms:
                problems.append(f"{path.name}: duplicate form oid {form.oid}")
            used = {i.codelist_name: [c.__dict__ for c in i.codelist]
                    for i in form.items.values() if i.codelist_name}
            stored = {"form": data, "codelists": used}
            form = replace(form, content_hash=content_hash(stored),
                           source=json.dumps(stored, sort_keys=True, ensure_ascii=False,
                                             default=str))
            forms[form.oid] = form
    # cross-form references
    for form in forms.values():
        for ref in sorted(form.refs()):
            m = expressions.REF_RE.fullmatch(ref)
            target, mode, item = m.group(1), m.group(3), m.group(4)
            where = f"{Path(form.path).name}:{ref}"
            if target in broken:
                continue
            if target not in forms:
                problems.append(f"{where}: unknown form {target}")
            elif item not in forms[target].items:
                problems.append(f"{where}: form {target} has no item {item}")
            elif mode is None and forms[target].repeating:
                problems.append(f"{where}: {target} is repeating: use @{target}[*] or "
                                f"@{target}[prev]")
            elif mode is not None and not forms[target].repeating:
                problems.append(f"{where}: {target} is not repeating: use @{target}.{item}")
    schedule = None
    sched_path = directory / "schedule.yaml"
    if sched_path.exists():
        schedule, errs = load_schedule(sched_path, forms, broken)
        problems.extend(errs)
    else:
        problems.append("schedule.yaml: missing")
    from .summary import load_summary
    summary, errs = load_summary(directory / "summary.yaml", forms)
    problems.extend(errs)
    if problems:
        raise DefinitionError(problems)
    return Catalog(forms=forms, schedule=schedule, codelists=shared,
                   shared_source=shared_src, summary=summary)


def form_from_source(source: str) -> FormDef:
    """Rebuild an older version of a form from the source stored with its records."""
    stored = json.loads(source)
    shared = {name: tuple(Choice(**c) for c in entries)
              for name, entries in stored["codelists"].items()}
    form, errs = parse_form(stored["form"], "stored.yaml", shared, source)
    if form is None:
        raise DefinitionError(errs)
    return replace(form, content_hash=content_hash(stored), source=source)

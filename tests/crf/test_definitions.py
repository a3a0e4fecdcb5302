"""Loading and validating form definitions (edc.crf.definitions.load_catalog) on the example
definition set in tests/crf/example_forms, and on broken copies of it."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from edc.crf import expressions
from edc.crf.definitions import (
    Choice,
    DefinitionError,
    FormDef,
    load_catalog,
    form_from_source,
    parse_form,
)

EXAMPLE_DIR = Path(__file__).parent / "example_forms"
REAL_FORMS = Path(__file__).resolve().parents[2] / "forms"


def copy_example(tmp_path: Path) -> Path:
    target = tmp_path / "forms"
    shutil.copytree(EXAMPLE_DIR, target)
    return target


def edit(directory: Path, file: str, old: str, new: str, count: int = 1) -> None:
    """Replace *old* by *new* in one file; *old* must occur exactly *count* times."""
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        load_catalog(directory)
    problems = info.value.problems
    assert problems and all(isinstance(p, str) for p in problems)
    return problems


def assert_problem(problems: list[str], expected: str) -> None:
    assert any(expected in p for p in problems), \
        f"{expected!r} not among the problems:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- the example
@pytest.fixture(scope="module")
def catalog():
    return load_catalog(EXAMPLE_DIR)


def test_example_loads(catalog):
    assert set(catalog.forms) == {"EXAMPLE", "LOG"}
    assert set(catalog.codelists) == {"SEX", "GRADE"}
    assert catalog.codelists["SEX"] == (Choice("M", "Male"), Choice("F", "Female"))
    assert "Shared codelists" in catalog.shared_source


def test_example_exercises_every_type(catalog):
    form = catalog.forms["EXAMPLE"]
    assert {i.type for i in form.entered} == {"text", "integer", "decimal", "date",
                                              "datetime", "boolean", "choice",
                                              "multichoice"}


def test_example_form_attributes(catalog):
    form = catalog.forms["EXAMPLE"]
    assert isinstance(form, FormDef)
    assert (form.oid, form.version, form.title, form.repeating) == \
        ("EXAMPLE", 1, "Example assessment", False)
    assert [s.title for s in form.sections] == ["Identification", "Measurements", "Symptoms",
                                               "Symptom scores", "Pregnancy"]
    assert form.sections[4].show_if == "SEX == 'F'"
    assert form.sections[4].items == ("PREGYN", "PREGDAT")
    assert [i.name for i in form.derived] == ["BSA", "SCORETOT"]
    assert len(form.content_hash) == 64
    assert form.path.endswith("EXAMPLE.yaml")


def test_example_item_attributes(catalog):
    items = catalog.forms["EXAMPLE"].items
    ini = items["INITIALS"]
    assert (ini.type, ini.max_length, ini.required, ini.missing, ini.help) == \
        ("text", 5, True, False, "Two or three letters.")
    assert items["VISDAT"].not_future and items["VISDAT"].range == ("2020-01-01", "2045-12-31")
    assert items["VISDTC"].type == "datetime" and not items["VISDTC"].required
    w = items["WEIGHT"]
    assert (w.unit, w.decimals, w.range, w.expected, w.missing) == \
        ("kg", 1, (0.5, 400), (3, 150), True)
    assert items["TEMP"].unit == "°C"
    assert items["SEX"].codelist_name == "SEX"
    assert items["SEX"].label_of("F") == "Female"
    assert items["SEX"].label_of("X") is None
    assert [c.code for c in items["SYMPT"].codelist] == ["fever", "cough", "rash", "other"]
    assert items["FEVERDUR"].show_tree == expressions.parse("TEMP >= 38")
    assert items["SYMPTOTH"].show_tree == expressions.parse("'other' in SYMPT")
    # a section's show_if applies to each of its items, combined with the item's own
    assert items["PREGYN"].show_tree == expressions.parse("SEX == 'F'")
    assert items["PREGYN"].show_if == "(SEX == 'F')"
    assert items["PREGDAT"].show_tree == ["and", expressions.parse("SEX == 'F'"),
                                          expressions.parse("PREGYN == True")]
    assert items["PREGDAT"].show_if == "(SEX == 'F') and (PREGYN == True)"
    assert items["SCORE2"].show_tree == expressions.parse("SYMPYN == True")
    assert items["SCORE1"].section == 3
    assert items["INITIALS"].show_tree is None


def test_example_derived_and_checks(catalog):
    form = catalog.forms["EXAMPLE"]
    bsa = form.items["BSA"]
    assert bsa.derived and bsa.function == "bsa_mosteller" and bsa.unit == "m²"
    assert dict(bsa.args) == {"weight_kg": "WEIGHT", "height_cm": "HEIGHT"}
    assert dict(form.items["SCORETOT"].args) == {"values": ["SCORE1", "SCORE2", "SCORE3"]}
    assert [(c.name, c.item, c.action) for c in form.checks] == [
        ("CHK_FEVER_NOT_TICKED", "TEMP", "query"),
        ("CHK_SCORE_HIGH", "SCORE1", "query"),
        ("CHK_PREG_AFTER_VISIT", "PREGDAT", "refuse")]
    assert form.checks[0].tree == expressions.parse(form.checks[0].when)
    assert form.refs() == set()


def test_example_repeating_form(catalog):
    log = catalog.forms["LOG"]
    assert log.repeating
    assert log.items["LOGTOX"].codelist == catalog.codelists["GRADE"]
    assert dict(log.items["LOGCUM"].args) == {"current": "LOGDOSE",
                                              "previous": "@LOG[*].LOGDOSE"}
    assert log.refs() == {"@LOG[*].LOGDOSE", "@LOG[prev].LOGSTDTC", "@EXAMPLE.VISDAT",
                          "@EXAMPLE.WEIGHT"}
    assert [c.action for c in log.checks] == ["query", "refuse"]


def test_example_schedule(catalog):
    s = catalog.schedule
    assert set(s.anchors) == {"registration", "firstdose"}
    assert s.anchors["registration"].patient_field == "registered_on"
    a = s.anchors["firstdose"]
    assert (a.form, a.item, a.pick) == ("LOG", "LOGDAT", "first")
    assert [v.code for v in s.visits] == ["BASE", "W1", "M1"]
    m1 = s.visit("M1")
    assert (m1.anchor, m1.day, m1.before, m1.after, m1.forms) == \
        ("firstdose", 28, 3, 5, ("EXAMPLE", "LOG"))
    assert s.visit("NOPE") is None
    assert s.unscheduled_forms == ("EXAMPLE",)
    assert s.log_forms == ("LOG",)


def test_real_forms_load():
    cat = load_catalog(REAL_FORMS)
    assert {"EX", "CRS", "ICANS", "DM"} <= set(cat.forms)
    assert cat.schedule.visit("D28") is not None


# --------------------------------------------------------------------------- loader errors
CASES = [
    # unknown keys, at every level
    ("EXAMPLE.yaml", "        unit: kg\n", "        unit: kg\n        colour: red\n",
     "EXAMPLE.yaml:WEIGHT: unknown key 'colour'"),
    ("EXAMPLE.yaml", "repeating: false\n", "repeating: false\nauthor: me\n",
     "EXAMPLE.yaml: unknown key 'author'"),
    ("EXAMPLE.yaml", "  - title: Measurements\n", "  - title: Measurements\n    colour: red\n",
     "EXAMPLE.yaml:section 2: unknown key 'colour'"),
    ("EXAMPLE.yaml", "    function: bsa_mosteller\n",
     "    function: bsa_mosteller\n    formula: x\n", "EXAMPLE.yaml:BSA: unknown key 'formula'"),
    ("EXAMPLE.yaml", "    action: refuse\n", "    action: refuse\n    severity: high\n",
     "EXAMPLE.yaml:CHK_PREG_AFTER_VISIT: unknown key 'severity'"),
    # names
    ("EXAMPLE.yaml", "      - name: SCORE2\n", "      - name: SCORE1\n",
     "EXAMPLE.yaml:SCORE1: duplicate item name"),
    ("EXAMPLE.yaml", "  - name: SCORETOT\n", "  - name: SCORE3\n",
     "EXAMPLE.yaml:SCORE3: duplicate item name"),
    ("EXAMPLE.yaml", "      - name: INITIALS\n", "      - name: initials\n",
     "EXAMPLE.yaml:initials: item name must match"),
    ("EXAMPLE.yaml", "  - name: CHK_SCORE_HIGH\n", "  - name: CHK_FEVER_NOT_TICKED\n",
     "EXAMPLE.yaml:CHK_FEVER_NOT_TICKED: duplicate check name"),
    # expressions
    ("EXAMPLE.yaml", 'show_if: "TEMP >= 38"', 'show_if: "TEMP.__class__"',
     "EXAMPLE.yaml:FEVERDUR: bad expression 'TEMP.__class__': attribute access is not "
     "allowed"),
    ("EXAMPLE.yaml", "show_if: \"SEX == 'F'\"", "show_if: \"open('F')\"",
     "EXAMPLE.yaml:section 5: bad expression \"open('F')\": function calls are not allowed"),
    ("EXAMPLE.yaml", 'when: "SCORETOT != None and SCORETOT >= 8"',
     'when: "SCORETOT ** 2 > 64"',
     "EXAMPLE.yaml:CHK_SCORE_HIGH: bad expression 'SCORETOT ** 2 > 64': arithmetic "
     "operator not allowed"),
    ("EXAMPLE.yaml", 'show_if: "TEMP >= 38"', 'show_if: "TMP >= 38"',
     "EXAMPLE.yaml:FEVERDUR: show_if refers to unknown item TMP"),
    ("EXAMPLE.yaml", "show_if: \"SEX == 'F'\"", "show_if: \"SX == 'F'\"",
     "EXAMPLE.yaml:PREGDAT: show_if refers to unknown item SX"),
    ("EXAMPLE.yaml", "'fever' not in SYMPT\"", "'fever' not in SYMPTS\"",
     "EXAMPLE.yaml:CHK_FEVER_NOT_TICKED: check refers to unknown item SYMPTS"),
    ("EXAMPLE.yaml", "    item: SCORE1\n", "    item: SCORE9\n",
     "EXAMPLE.yaml:CHK_SCORE_HIGH: check item 'SCORE9' is not an item of the form"),
    ("EXAMPLE.yaml", "    action: query\n", "    action: warn\n",
     "EXAMPLE.yaml:CHK_SCORE_HIGH: action must be query or refuse"),
    ("EXAMPLE.yaml", "    query: The total score is high; please confirm.\n", "",
     "EXAMPLE.yaml:CHK_SCORE_HIGH: query (the message) is required"),
    # derived items
    ("EXAMPLE.yaml", "function: bsa_mosteller", "function: bsa_dubois",
     "EXAMPLE.yaml:BSA: unknown function 'bsa_dubois'"),
    ("EXAMPLE.yaml", "      height_cm: HEIGHT\n", "      height_cm: HEIGHT\n      age: HEIGHT\n",
     "EXAMPLE.yaml:BSA: function bsa_mosteller has no argument 'age'"),
    ("EXAMPLE.yaml", "      height_cm: HEIGHT\n", "",
     "EXAMPLE.yaml:BSA: function bsa_mosteller needs the argument 'height_cm'"),
    ("EXAMPLE.yaml", "weight_kg: WEIGHT", "weight_kg: WEIGHTKG",
     "EXAMPLE.yaml:BSA: argument weight_kg refers to unknown item WEIGHTKG"),
    ("EXAMPLE.yaml", "weight_kg: WEIGHT", "weight_kg: SCORETOT",       # a later derived item
     "EXAMPLE.yaml:BSA: argument weight_kg refers to unknown item SCORETOT"),
    ("EXAMPLE.yaml", "[SCORE1, SCORE2, SCORE3]", "[SCORE1, SCORE2, SCORE4]",
     "EXAMPLE.yaml:SCORETOT: argument values refers to unknown item SCORE4"),
    ("EXAMPLE.yaml", "weight_kg: WEIGHT", "weight_kg: 70",
     "EXAMPLE.yaml:BSA: argument weight_kg must name an item"),
    ("EXAMPLE.yaml", "    type: integer\n    function: total",
     "    type: date\n    function: total",
     "EXAMPLE.yaml:SCORETOT: derived type must be one of integer, decimal, boolean, text, "
     "choice"),
    ("LOG.yaml", '"@LOG[*].LOGDOSE"', '"@LOG[all].LOGDOSE"',
     "LOG.yaml:LOGCUM: bad reference '@LOG[all].LOGDOSE'"),
    # types, codelists, ranges
    ("EXAMPLE.yaml", "      - name: TEMP\n        label: Temperature\n        type: decimal\n",
     "      - name: TEMP\n        label: Temperature\n        type: float\n",
     "EXAMPLE.yaml:TEMP: unknown type 'float' (one of text, integer, decimal, date, "
     "datetime, boolean, choice, multichoice)"),
    ("EXAMPLE.yaml", "codelist: SEX\n", "codelist: SEXX\n",
     "EXAMPLE.yaml:SEX: unknown codelist 'SEXX'"),
    ("EXAMPLE.yaml", "        codelist: SYMPT\n", "",
     "EXAMPLE.yaml:SYMPT: unknown codelist None"),
    ("EXAMPLE.yaml", "        unit: kg\n", "        unit: kg\n        codelist: SEX\n",
     "EXAMPLE.yaml:WEIGHT: codelist is only for choice and multichoice, not decimal"),
    ("EXAMPLE.yaml", "{code: rash, label: Rash}", "{code: cough, label: Rash}",
     "EXAMPLE.yaml:codelist SYMPT: duplicate code 'cough' in codelist"),
    ("codelists.yaml", "{code: M, label: Male}", "{code: M}",
     "codelists.yaml:SEX: codelist entry must have exactly code and label"),
    ("EXAMPLE.yaml", "range: {min: 30, max: 44}", "range: {min: 44, max: 30}",
     "EXAMPLE.yaml:TEMP: 'range' min is above max"),
    ("EXAMPLE.yaml", "range: {min: 30, max: 250}", "range: {min: low, max: 250}",
     "EXAMPLE.yaml:HEIGHT: 'range' bounds must be numbers"),
    ("EXAMPLE.yaml", "expected: {min: 45, max: 200}", "expected: {low: 45}",
     "EXAMPLE.yaml:HEIGHT: 'expected' needs min and/or max"),
    ("EXAMPLE.yaml", "        type: boolean\n        required: true\n      - name: SYMPT",
     "        type: boolean\n        range: {min: 0}\n        required: true\n"
     "      - name: SYMPT",
     "EXAMPLE.yaml:SYMPYN: 'range' is not allowed for type boolean"),
    ("EXAMPLE.yaml", "max_length: 5", "max_length: 0",
     "EXAMPLE.yaml:INITIALS: max_length must be 1-4000"),
    ("EXAMPLE.yaml", "        unit: cm\n", "        unit: cm\n        decimals: 1\n",
     "EXAMPLE.yaml:HEIGHT: decimals is an integer, for decimal items only"),
    ("EXAMPLE.yaml", "        label: Initials\n", "",
     "EXAMPLE.yaml:INITIALS: label is required"),
    # the form itself
    ("EXAMPLE.yaml", "oid: EXAMPLE\n", "oid: EXAMPLE2\n",
     "EXAMPLE.yaml: the file of form EXAMPLE2 must be named EXAMPLE2.yaml"),
    ("EXAMPLE.yaml", "oid: EXAMPLE\n", "oid: example\n",
     "EXAMPLE.yaml: oid must be upper case letters"),
    ("EXAMPLE.yaml", "version: 1\n", "version: 0\n",
     "EXAMPLE.yaml: version must be a positive integer"),
    ("EXAMPLE.yaml", "title: Example assessment\n", "",
     "EXAMPLE.yaml: title is required"),
    ("EXAMPLE.yaml", "title: Example assessment\n", "title: [unclosed\n",
     "EXAMPLE.yaml: not valid YAML"),
    # references to other forms
    ("LOG.yaml", "@EXAMPLE.VISDAT", "@EXAMPL.VISDAT",
     "LOG.yaml:@EXAMPL.VISDAT: unknown form EXAMPL"),
    ("LOG.yaml", "@EXAMPLE.WEIGHT", "@EXAMPLE.WEIGHTKG",
     "LOG.yaml:@EXAMPLE.WEIGHTKG: form EXAMPLE has no item WEIGHTKG"),
    ("LOG.yaml", '"@LOG[*].LOGDOSE"', '"@LOG.LOGDOSE"',
     "LOG.yaml:@LOG.LOGDOSE: LOG is repeating: use @LOG[*] or @LOG[prev]"),
    ("LOG.yaml", "@EXAMPLE.VISDAT", "@EXAMPLE[*].VISDAT",
     "LOG.yaml:@EXAMPLE[*].VISDAT: EXAMPLE is not repeating: use @EXAMPLE.VISDAT"),
    ("EXAMPLE.yaml", 'show_if: "TEMP >= 38"', 'show_if: "TEMP >= 38 and @NOPE.X == 1"',
     "EXAMPLE.yaml:@NOPE.X: unknown form NOPE"),
    ("EXAMPLE.yaml", "weight_kg: WEIGHT", 'weight_kg: "@LOG.LOGDOSE"',
     "EXAMPLE.yaml:@LOG.LOGDOSE: LOG is repeating"),
    # the schedule
    ("schedule.yaml", "forms: [EXAMPLE, LOG]", "forms: [EXAMPLE, LOGG]",
     "schedule.yaml:M1: unknown form LOGG"),
    ("schedule.yaml", "unscheduled_forms: [EXAMPLE]", "unscheduled_forms: [EXAMPLE, NOPE]",
     "schedule.yaml:unscheduled_forms: unknown form NOPE"),
    ("schedule.yaml", "log_forms: [LOG]", "log_forms: [LOG, AE]",
     "schedule.yaml:log_forms: unknown form AE"),
    ("schedule.yaml", "code: M1", "code: W1",
     "schedule.yaml:W1: visit codes must be unique, non-empty, not UNS"),
    ("schedule.yaml", "code: M1", "code: UNS1",
     "schedule.yaml:UNS1: visit codes must be unique, non-empty, not UNS"),
    ("schedule.yaml", "anchor: firstdose\n    day: 28", "anchor: lastdose\n    day: 28",
     "schedule.yaml:M1: unknown anchor 'lastdose'"),
    ("schedule.yaml", "item: LOGDAT", "item: LOGDOSE",
     "schedule.yaml:firstdose: anchor item LOG.LOGDOSE must be a date"),
    ("schedule.yaml", "{form: LOG, item: LOGDAT", "{form: LOGX, item: LOGDAT",
     "schedule.yaml:firstdose: unknown form item LOGX.LOGDAT"),
    ("schedule.yaml", "{patient: registered_on}", "{patient: born_on}",
     "schedule.yaml:registration: patient anchor must be registered_on or enrolled_on"),
    ("schedule.yaml", "  - code: W1\n", "  - code: W1\n    colour: red\n",
     "schedule.yaml:W1: unknown key 'colour'"),
    ("schedule.yaml", "log_forms: [LOG]\n", "log_forms: [LOG]\nextra: 1\n",
     "schedule.yaml: unknown key 'extra'"),
    ("schedule.yaml", "day: 7\n", "day: 7.5\n", "schedule.yaml:W1: day must be an integer"),
    ("schedule.yaml", "visits:\n", "visits: [\n",
     "schedule.yaml: not valid YAML"),
]


@pytest.mark.parametrize("file,old,new,expected", CASES,
                         ids=[c[3][:70] for c in CASES])
def test_loader_error(tmp_path, file, old, new, expected):
    directory = copy_example(tmp_path)
    count = (EXAMPLE_DIR / file).read_text(encoding="utf-8").count(old)
    assert count >= 1
    edit(directory, file, old, new, count=count)
    assert_problem(problems_of(directory), expected)


def test_every_loader_case_edits_something():
    for file, old, _new, _expected in CASES:
        assert old in (EXAMPLE_DIR / file).read_text(encoding="utf-8"), (file, old)


def test_all_problems_are_reported_at_once(tmp_path):
    directory = copy_example(tmp_path)
    edit(directory, "EXAMPLE.yaml", "function: bsa_mosteller", "function: nope")
    edit(directory, "EXAMPLE.yaml", "codelist: SEX\n", "codelist: SEXX\n")
    edit(directory, "schedule.yaml", "code: M1", "code: W1")
    with pytest.raises(DefinitionError) as info:
        load_catalog(directory)
    problems = info.value.problems
    assert_problem(problems, "EXAMPLE.yaml:BSA: unknown function 'nope'")
    assert_problem(problems, "EXAMPLE.yaml:SEX: unknown codelist 'SEXX'")
    assert_problem(problems, "schedule.yaml:W1: visit codes must be unique")
    assert "EXAMPLE.yaml:BSA: unknown function 'nope'" in str(info.value)


def test_missing_schedule(tmp_path):
    directory = copy_example(tmp_path)
    (directory / "schedule.yaml").unlink()
    assert_problem(problems_of(directory), "schedule.yaml: missing")


def test_no_shared_codelists_file(tmp_path):
    directory = copy_example(tmp_path)
    (directory / "codelists.yaml").unlink()
    problems = problems_of(directory)
    assert_problem(problems, "EXAMPLE.yaml:SEX: unknown codelist 'SEX'")
    assert_problem(problems, "LOG.yaml:LOGTOX: unknown codelist 'GRADE'")


def test_a_second_file_with_the_same_oid_is_refused(tmp_path):
    directory = copy_example(tmp_path)
    # Each file must be named after its oid, so a second file carrying oid LOG is refused.
    shutil.copy(directory / "LOG.yaml", directory / "LOG2.yaml")
    assert_problem(problems_of(directory), "LOG2.yaml: the file of form LOG must be named "
                                           "LOG.yaml")


def test_parse_form_without_directory_reports_duplicate_items():
    form, problems = parse_form({"oid": "X", "version": 1, "title": "X", "sections": [
        {"title": "S", "items": [{"name": "A", "label": "A", "type": "text"},
                                 {"name": "A", "label": "A", "type": "text"}]}]},
        "X.yaml", {})
    assert form is None
    assert problems == ["X.yaml:A: duplicate item name"]


def test_parse_form_not_a_mapping():
    form, problems = parse_form(["oid"], "X.yaml", {})
    assert form is None
    assert problems == ["X.yaml: a form definition is a mapping"]


def test_parse_form_needs_sections():
    form, problems = parse_form({"oid": "X", "version": 1, "title": "X", "sections": []},
                                "X.yaml", {})
    assert form is None
    assert "X.yaml: sections must be a non-empty list" in problems


def test_non_numeric_visit_day_is_a_definition_error(tmp_path):
    directory = copy_example(tmp_path)
    edit(directory, "schedule.yaml", "day: 7\n", "day: seven\n")
    assert_problem(problems_of(directory), "schedule.yaml:W1: day must be an integer")


def test_placeholder_name_in_show_if_is_a_definition_error(tmp_path):
    directory = copy_example(tmp_path)
    edit(directory, "EXAMPLE.yaml", 'show_if: "TEMP >= 38"', 'show_if: "__ref0__ >= 38"')
    assert_problem(problems_of(directory), "EXAMPLE.yaml:FEVERDUR: bad expression")


# --------------------------------------------------------------------------- content hash
def test_content_hash_changes_with_a_label(tmp_path):
    base = load_catalog(EXAMPLE_DIR)
    directory = copy_example(tmp_path)
    edit(directory, "EXAMPLE.yaml", "label: Weight\n", "label: Body weight\n")
    changed = load_catalog(directory)
    assert changed.forms["EXAMPLE"].content_hash != base.forms["EXAMPLE"].content_hash
    assert changed.forms["LOG"].content_hash == base.forms["LOG"].content_hash


def test_content_hash_changes_with_a_used_shared_codelist(tmp_path):
    base = load_catalog(EXAMPLE_DIR)
    directory = copy_example(tmp_path)
    edit(directory, "codelists.yaml", "{code: F, label: Female}", "{code: F, label: Girl}")
    changed = load_catalog(directory)
    assert changed.forms["EXAMPLE"].content_hash != base.forms["EXAMPLE"].content_hash
    assert changed.forms["LOG"].content_hash == base.forms["LOG"].content_hash   # uses GRADE


def test_content_hash_ignores_comments_whitespace_and_style(tmp_path):
    base = load_catalog(EXAMPLE_DIR)
    directory = copy_example(tmp_path)
    edit(directory, "EXAMPLE.yaml", "oid: EXAMPLE\n", "# a new comment\n\noid: EXAMPLE   \n")
    edit(directory, "EXAMPLE.yaml", "range: {min: 30, max: 44}",
         "range:   { max: 44,  min: 30 }   # reordered, spaced")
    edit(directory, "EXAMPLE.yaml", 'unit: "°C"', "unit: '°C'")
    edit(directory, "EXAMPLE.yaml", "  - title: Pregnancy\n",
         "\n\n  # pregnancy section\n  - title: Pregnancy\n")
    edit(directory, "EXAMPLE.yaml", "    when: \"TEMP >= 38 and 'fever' not in SYMPT\"\n",
         "    when: >-\n      TEMP >= 38 and 'fever' not in SYMPT\n")
    changed = load_catalog(directory)
    assert changed.forms["EXAMPLE"].source != "" and \
        (directory / "EXAMPLE.yaml").read_text(encoding="utf-8") != \
        (EXAMPLE_DIR / "EXAMPLE.yaml").read_text(encoding="utf-8")
    assert changed.forms["EXAMPLE"].content_hash == base.forms["EXAMPLE"].content_hash


def _same_form(a: FormDef, b: FormDef) -> None:
    assert a.content_hash == b.content_hash
    assert (a.oid, a.version, a.title, a.repeating) == (b.oid, b.version, b.title, b.repeating)
    assert a.sections == b.sections
    # The stored source is JSON with sorted keys, so derived ``args`` (keyword arguments,
    # order irrelevant) may come back in another order; everything else is identical.
    assert list(a.items) == list(b.items)
    for name, item in a.items.items():
        other = b.items[name]
        assert dict(item.args) == dict(other.args), name
        assert replace(item, args=()) == replace(other, args=()), name
    assert a.checks == b.checks


@pytest.mark.parametrize("oid", ["EXAMPLE", "LOG"])
def test_form_from_source_round_trips(catalog, oid):
    form = catalog.forms[oid]
    again = form_from_source(form.source)
    _same_form(form, again)
    assert again.source == form.source
    assert form_from_source(again.source).content_hash == form.content_hash


def test_form_from_source_keeps_the_shared_codelists_of_that_version(tmp_path):
    old = load_catalog(EXAMPLE_DIR).forms["EXAMPLE"]
    directory = copy_example(tmp_path)
    edit(directory, "codelists.yaml", "{code: F, label: Female}", "{code: F, label: Girl}")
    new = load_catalog(directory).forms["EXAMPLE"]
    assert new.items["SEX"].label_of("F") == "Girl"
    assert form_from_source(old.source).items["SEX"].label_of("F") == "Female"


def test_form_from_source_round_trips_every_real_form():
    cat = load_catalog(REAL_FORMS)
    for form in cat.forms.values():
        _same_form(form, form_from_source(form.source))


def test_form_from_source_refuses_a_broken_source(catalog):
    import json
    stored = json.loads(catalog.forms["EXAMPLE"].source)
    stored["form"]["sections"][0]["items"][0]["type"] = "float"
    with pytest.raises(DefinitionError) as info:
        form_from_source(json.dumps(stored))
    assert_problem(info.value.problems, "stored.yaml:INITIALS: unknown type 'float'")

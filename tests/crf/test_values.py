"""Turning typed input into stored values (edc.crf.values): coerce for every item type,
to_input, as_python and in_range."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from edc.crf.definitions import Choice, ItemDef
from edc.crf.values import Msg, as_python, coerce, in_range, is_empty, to_input

MADRID = ZoneInfo("Europe/Madrid")
BEIRUT = ZoneInfo("Asia/Beirut")
UTC = ZoneInfo("UTC")

TEXT = ItemDef("T", "Text", "text", max_length=5)
LONG_TEXT = ItemDef("LT", "Long text", "text")
INTEGER = ItemDef("I", "Integer", "integer")
DECIMAL = ItemDef("D", "Decimal", "decimal", decimals=1)
DECIMAL_FREE = ItemDef("DF", "Decimal", "decimal")
DATE = ItemDef("DA", "Date", "date")
DATETIME = ItemDef("DT", "Date and time", "datetime")
BOOLEAN = ItemDef("B", "Yes/no", "boolean")
SEX = (Choice("M", "Male"), Choice("F", "Female"))
SYMPT = (Choice("fever", "Fever"), Choice("cough", "Cough"), Choice("rash", "Rash"),
         Choice("other", "Other"))
CHOICE = ItemDef("C", "Choice", "choice", codelist=SEX)
MULTI = ItemDef("M", "Multichoice", "multichoice", codelist=SYMPT)
ALL = [TEXT, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN, CHOICE, MULTI]


def ok(item, raw, tz=MADRID):
    value, err = coerce(item, raw, tz)
    assert err is None, (raw, err)
    return value


def refused(item, raw, tz=MADRID) -> Msg:
    value, err = coerce(item, raw, tz)
    assert value is None and isinstance(err, Msg), (raw, value, err)
    return err


# --------------------------------------------------------------------------- empty
@pytest.mark.parametrize("item", ALL, ids=[i.type for i in ALL])
@pytest.mark.parametrize("raw", [None, "", "   ", "\n", [], [""], ["  ", ""]])
def test_empty_input_is_none_without_error(item, raw):
    assert coerce(item, raw, MADRID) == (None, None)


def test_is_empty():
    assert is_empty(None) and is_empty("") and is_empty(" ") and is_empty([]) and \
        is_empty(["", " "])
    assert not is_empty("0") and not is_empty(["a"]) and not is_empty(0) and \
        not is_empty(False)


# --------------------------------------------------------------------------- integer
@pytest.mark.parametrize("raw,value", [
    ("38", 38), (" 42 ", 42), ("-3", -3), ("0", 0), ("007", 7),
    ("٣٨", 38),                 # Arabic-Indic digits
    ("۳۸", 38),                 # Extended Arabic-Indic (Persian) digits
    ("١٬٠٠٠", 1000),            # Arabic thousands separator
    ("1 000", 1000), ("1\u00a0000", 1000),
    (38, 38),
    (["12"], 12),
])
def test_integer(raw, value):
    assert ok(INTEGER, raw) == value
    assert type(ok(INTEGER, raw)) is int


@pytest.mark.parametrize("raw", ["1.5", "38,5", "abc", "1e3", "+5", "--1", "0x10", "1,000",
                                 "1234567890123", "٣٨٫٥", "½", "3 4 5 6 7 8 9 0 1 2 3 4 5"])
def test_bad_integer(raw):
    assert refused(INTEGER, raw).msgid == "Enter a whole number."


def test_integer_list_of_several_values_refused():
    assert refused(INTEGER, ["1", "2"]).msgid == "Give one value only."


# --------------------------------------------------------------------------- decimal
@pytest.mark.parametrize("raw,value", [
    ("38.5", "38.5"), ("38,5", "38.5"),           # decimal comma
    ("٣٨٫٥", "38.5"),                            # Arabic-Indic digits and separator
    ("۳۸٫۵", "38.5"),
    ("٣٨,٥", "38.5"),
    ("38", "38"), (" 38.0 ", "38.0"), ("-0.5", "-0.5"), ("0", "0"), ("0.0", "0"),
    ("-0", "0"), ("007.5", "7.5"), (38.5, "38.5"), (38, "38"),
])
def test_decimal(raw, value):
    assert ok(DECIMAL, raw) == value


def test_decimal_is_stored_as_a_string():
    assert isinstance(ok(DECIMAL, "38.5"), str)


def test_too_many_decimals():
    err = refused(DECIMAL, "38.55")
    assert err.msgid == "At most %(n)d digits after the decimal point."
    assert err.params == {"n": 1}
    assert refused(DECIMAL, "38,55").params == {"n": 1}
    assert refused(ItemDef("D0", "D", "decimal", decimals=0), "38.5").params == {"n": 0}


def test_decimals_unset_allows_any_number_of_digits():
    assert ok(DECIMAL_FREE, "38.5551") == "38.5551"


def test_decimals_keep_trailing_zeros_within_the_limit():
    assert ok(ItemDef("D2", "D", "decimal", decimals=2), "38.50") == "38.50"


@pytest.mark.parametrize("raw", ["abc", "1.2.3", "1e3", "NaN", "Infinity", "38,5,1",
                                 "1.234,5", ".5", "5.", "+5", "38.5 kg", "½"])
def test_bad_decimal(raw):
    assert refused(DECIMAL_FREE, raw).msgid == "Enter a number, e.g. 38.5."


# --------------------------------------------------------------------------- date
@pytest.mark.parametrize("raw,value", [
    ("2026-01-15", "2026-01-15"), (" 2026-01-15 ", "2026-01-15"),
    ("2024-02-29", "2024-02-29"),
    ("٢٠٢٦-٠١-١٥", "2026-01-15"),
])
def test_date(raw, value):
    assert ok(DATE, raw) == value


@pytest.mark.parametrize("raw", ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10",
                                 "2026-04-31"])
def test_date_that_does_not_exist(raw):
    assert refused(DATE, raw).msgid == "This date does not exist."


@pytest.mark.parametrize("raw", ["15/01/2026", "2026/01/15", "26-01-15", "2026-1-5",
                                 "2026-01-15T10:00", "20260115", "yesterday"])
def test_date_in_another_format(raw):
    assert refused(DATE, raw).msgid == "Enter a date as YYYY-MM-DD."


# --------------------------------------------------------------------------- datetime
@pytest.mark.parametrize("raw,value", [
    ("2026-01-15 10:30", "2026-01-15T09:30:00Z"),         # winter: CET, UTC+1
    ("2026-01-15T10:30", "2026-01-15T09:30:00Z"),
    ("2026-07-15 10:30", "2026-07-15T08:30:00Z"),         # summer: CEST, UTC+2
    ("2026-07-15 10:30:45", "2026-07-15T08:30:00Z"),      # seconds are not kept
    ("2026-01-01 00:30", "2025-12-31T23:30:00Z"),         # crosses midnight and the year
    ("2026-03-29 01:59", "2026-03-29T00:59:00Z"),         # just before the spring change
    ("2026-03-29 03:00", "2026-03-29T01:00:00Z"),         # just after it
    ("٢٠٢٦-٠١-١٥ ١٠:٣٠", "2026-01-15T09:30:00Z"),
])
def test_datetime_site_local_to_utc(raw, value):
    assert ok(DATETIME, raw, MADRID) == value


def test_datetime_depends_on_the_site_time_zone():
    assert ok(DATETIME, "2026-01-15 10:30", BEIRUT) == "2026-01-15T08:30:00Z"
    assert ok(DATETIME, "2026-01-15 10:30", UTC) == "2026-01-15T10:30:00Z"


@pytest.mark.parametrize("raw", ["2026-02-30 10:00", "2026-01-15 25:00", "2026-01-15 10:60",
                                 "2026-01-15 24:00"])
def test_datetime_that_does_not_exist(raw):
    assert refused(DATETIME, raw).msgid == "This date and time do not exist."


@pytest.mark.parametrize("raw", ["2026-01-15", "2026-01-15 10", "2026-01-15 10:30Z",
                                 "2026-01-15T10:30:00+01:00", "15/01/2026 10:30", "10:30"])
def test_datetime_in_another_format(raw):
    assert refused(DATETIME, raw).msgid == "Enter a date and time as YYYY-MM-DD HH:MM."


@pytest.mark.parametrize("stored,shown", [
    ("2026-01-15T09:30:00Z", "2026-01-15T10:30"),
    ("2026-07-15T08:30:00Z", "2026-07-15T10:30"),
    ("2025-12-31T23:30:00Z", "2026-01-01T00:30"),
])
def test_to_input_datetime_round_trip(stored, shown):
    assert to_input(DATETIME, stored, MADRID) == shown
    assert ok(DATETIME, shown, MADRID) == stored


def test_to_input_datetime_round_trip_over_a_year():
    from datetime import datetime, timedelta, timezone
    start = datetime(2026, 1, 1, 0, 15, tzinfo=timezone.utc)
    for hours in range(0, 366 * 24, 7):
        stored = (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for tz in (MADRID, BEIRUT):
            assert ok(DATETIME, to_input(DATETIME, stored, tz), tz) == stored


# --------------------------------------------------------------------------- boolean
@pytest.mark.parametrize("raw", ["true", "True", "TRUE", "1", "yes", "Yes", "y", "on",
                                 " yes ", True, 1])
def test_boolean_true(raw):
    assert ok(BOOLEAN, raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "No", "n", "off", False, 0])
def test_boolean_false(raw):
    assert ok(BOOLEAN, raw) is False


@pytest.mark.parametrize("raw", ["maybe", "si", "oui", "2", "-1", "yes!", "t"])
def test_bad_boolean(raw):
    assert refused(BOOLEAN, raw).msgid == "Answer yes or no."


# --------------------------------------------------------------------------- choice
def test_choice():
    assert ok(CHOICE, "F") == "F"
    assert ok(CHOICE, " M ") == "M"
    assert ok(CHOICE, ["F"]) == "F"


@pytest.mark.parametrize("raw", ["X", "f", "Female", "M,F"])
def test_choice_not_in_the_list(raw):
    assert refused(CHOICE, raw).msgid == "Choose from the list."


def test_choice_with_several_values():
    assert refused(CHOICE, ["F", "M"]).msgid == "Give one value only."


def test_choice_codes_may_look_like_numbers():
    grade = ItemDef("G", "Grade", "choice", codelist=(Choice("1", "1"), Choice("2", "2")))
    assert ok(grade, "2") == "2"
    assert ok(grade, 2) == "2"


# --------------------------------------------------------------------------- multichoice
def test_multichoice_order_is_normalised_to_the_codelist():
    assert ok(MULTI, ["rash", "fever"]) == ["fever", "rash"]
    assert ok(MULTI, ["other", "rash", "cough", "fever"]) == ["fever", "cough", "rash",
                                                              "other"]


def test_multichoice_single_string_duplicates_and_blanks():
    assert ok(MULTI, "cough") == ["cough"]
    assert ok(MULTI, ["fever", "fever"]) == ["fever"]
    assert ok(MULTI, [" rash ", "", "fever"]) == ["fever", "rash"]
    assert ok(MULTI, ("cough",)) == ["cough"]


@pytest.mark.parametrize("raw", [["fever", "bogus"], ["Fever"], "bogus", ["fever,rash"]])
def test_multichoice_unknown_code_refused(raw):
    assert refused(MULTI, raw).msgid == "Choose from the list."


# --------------------------------------------------------------------------- text
def test_text():
    assert ok(TEXT, "  ABC ") == "ABC"
    assert ok(TEXT, "ABCDE") == "ABCDE"
    assert ok(TEXT, "  ABCDE  ") == "ABCDE"                 # the limit applies after strip
    assert ok(LONG_TEXT, "line 1\nline 2\r\n\tindented") == "line 1\nline 2\r\n\tindented"
    assert ok(LONG_TEXT, "ألم في البطن") == "ألم في البطن"  # right-to-left text itself is fine
    assert ok(LONG_TEXT, 42) == "42"


def test_text_max_length():
    err = refused(TEXT, "ABCDEF")
    assert err.msgid == "At most %(n)d characters."
    assert err.params == {"n": 5}
    assert ok(LONG_TEXT, "x" * 200) == "x" * 200
    assert refused(LONG_TEXT, "x" * 201).params == {"n": 200}


@pytest.mark.parametrize("raw", [
    "a\x00b", "a\x07b", "a\x08b", "\x1b[31mred", "a\x0bb", "a\x0cb", "a\x1fb", "a\x7fb",
    # bidirectional overrides and isolates (the "Trojan source" characters)
    "abc\u202edcba", "a\u202ab", "a\u202bb", "a\u202cb", "a\u202db",
    "a\u2066b", "a\u2067b", "a\u2068b", "a\u2069b",
])
def test_text_control_and_bidi_override_characters_refused(raw):
    assert refused(LONG_TEXT, raw).msgid == "Remove the control characters from the text."


# --------------------------------------------------------------------------- to_input etc.
def test_to_input():
    assert to_input(TEXT, None, MADRID) == ""
    assert to_input(MULTI, None, MADRID) == []
    assert to_input(DATETIME, None, MADRID) == ""
    assert to_input(BOOLEAN, True, MADRID) == "true"
    assert to_input(BOOLEAN, False, MADRID) == "false"
    assert to_input(DECIMAL, "38.5", MADRID) == "38.5"
    assert to_input(MULTI, ["fever"], MADRID) == ["fever"]
    assert to_input(DATE, "2026-01-15", MADRID) == "2026-01-15"


@pytest.mark.parametrize("item,raw", [
    (TEXT, "ABC"), (INTEGER, "38"), (DECIMAL, "38.5"), (DATE, "2026-01-15"),
    (DATETIME, "2026-07-15 10:30"), (BOOLEAN, "yes"), (BOOLEAN, "no"), (CHOICE, "F"),
    (MULTI, ["rash", "fever"]),
], ids=lambda x: getattr(x, "type", str(x)))
def test_stored_values_are_stable_through_to_input(item, raw):
    stored = ok(item, raw)
    assert ok(item, to_input(item, stored, MADRID)) == stored


def test_msg_equality_ignores_params():
    assert Msg("x", {"n": 1}) == Msg("x", {"n": 2})
    assert Msg("x") != Msg("y")


def test_as_python():
    assert as_python(DECIMAL, "38.5") == Decimal("38.5")
    assert isinstance(as_python(DECIMAL, "38.5"), Decimal)
    assert as_python(INTEGER, 3) == 3
    assert as_python(DECIMAL, None) is None
    assert as_python(MULTI, ["fever"]) == ["fever"]


def test_in_range_numbers():
    item = ItemDef("W", "W", "decimal", range=(0.5, 400))
    assert in_range(item, "0.5", item.range)
    assert in_range(item, "400", item.range)
    assert not in_range(item, "0.4", item.range)
    assert not in_range(item, "400.1", item.range)
    assert in_range(item, None, item.range)
    assert in_range(item, "1000", None)
    assert in_range(INTEGER, 5, (None, 10)) and not in_range(INTEGER, 11, (None, 10))
    assert in_range(INTEGER, 5, (1, None)) and not in_range(INTEGER, 0, (1, None))
    assert not in_range(INTEGER, 9, (10, 100))          # numbers, not strings


def test_in_range_dates_and_datetimes():
    bounds = ("2020-01-01", "2045-12-31")
    assert in_range(DATE, "2020-01-01", bounds)
    assert not in_range(DATE, "2019-12-31", bounds)
    assert not in_range(DATE, "2046-01-01", bounds)
    assert in_range(DATETIME, "2045-12-31T23:00:00Z", bounds)      # compared by its date
    assert not in_range(DATETIME, "2019-12-31T23:00:00Z", bounds)

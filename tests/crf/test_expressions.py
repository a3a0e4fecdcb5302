"""The safe expression language of form definitions (edc.crf.expressions): parse, evaluate,
and everything it must refuse."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from edc.crf.expressions import MAX_LENGTH, ExpressionError, evaluate, names, parse, refs


def ev(text: str, **env):
    """Parse and evaluate *text* with item values given as keywords."""
    return evaluate(parse(text), env)


class RecordingEnv(dict):
    """An environment that records which names the evaluator reads."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.read: list[str] = []

    def get(self, key, default=None):
        self.read.append(key)
        return super().get(key, default)


# --------------------------------------------------------------------------- parse
def test_parse_gives_a_json_able_tree():
    tree = parse("TEMP >= 38.5 and 'fever' in SYMPT or not @DM.WEIGHT == None")
    assert json.loads(json.dumps(tree)) == tree
    assert tree[0] == "or"


@pytest.mark.parametrize("text,tree", [
    ("A", ["name", "A"]),
    ("A_1", ["name", "A_1"]),
    ("1", ["const", 1]),
    ("'x'", ["const", "x"]),
    ('"x"', ["const", "x"]),
    ("True", ["const", True]),
    ("False", ["const", False]),
    ("None", ["const", None]),
    ("38.5", ["num", "38.5"]),
    ("-A", ["neg", ["name", "A"]]),
    ("+A", ["name", "A"]),
    ("not A", ["not", ["name", "A"]]),
    ("A == 1", ["cmp", "==", ["name", "A"], ["const", 1]]),
    ("A != 1", ["cmp", "!=", ["name", "A"], ["const", 1]]),
    ("A < 1", ["cmp", "<", ["name", "A"], ["const", 1]]),
    ("A <= 1", ["cmp", "<=", ["name", "A"], ["const", 1]]),
    ("A > 1", ["cmp", ">", ["name", "A"], ["const", 1]]),
    ("A >= 1", ["cmp", ">=", ["name", "A"], ["const", 1]]),
    ("A + B", ["arith", "+", ["name", "A"], ["name", "B"]]),
    ("A - B", ["arith", "-", ["name", "A"], ["name", "B"]]),
    ("A * B", ["arith", "*", ["name", "A"], ["name", "B"]]),
    ("A / B", ["arith", "/", ["name", "A"], ["name", "B"]]),
    ("A and B", ["and", ["name", "A"], ["name", "B"]]),
    ("A or B or C", ["or", ["name", "A"], ["name", "B"], ["name", "C"]]),
    ("A in [1, 2]", ["in", ["name", "A"], ["list", ["const", 1], ["const", 2]]]),
    ("A not in (1, 2)", ["notin", ["name", "A"], ["list", ["const", 1], ["const", 2]]]),
    ("'x' in B", ["in", ["const", "x"], ["name", "B"]]),
    ("@EX.EXDOSE", ["ref", "@EX.EXDOSE"]),
    ("@EX[*].EXDOSE", ["ref", "@EX[*].EXDOSE"]),
    ("@EX[prev].EXDOSE", ["ref", "@EX[prev].EXDOSE"]),
    ("1 < A < 3", ["and", ["cmp", "<", ["const", 1], ["name", "A"]],
                   ["cmp", "<", ["name", "A"], ["const", 3]]]),
])
def test_parse_trees(text, tree):
    assert parse(text) == tree


def test_parse_ignores_surrounding_whitespace():
    assert parse("  A == 1\n") == parse("A == 1")


def test_names_and_refs():
    tree = parse("A > 1 and (B == @DM.WEIGHT or 'x' in C) and @EX[*].EXDOSE != None "
                 "and D + @EX[prev].EXENDTC > 0 and A < 5")
    assert names(tree) == {"A", "B", "C", "D"}
    assert refs(tree) == {"@DM.WEIGHT", "@EX[*].EXDOSE", "@EX[prev].EXENDTC"}
    assert names(parse("1 == 1")) == set()
    assert refs(parse("A == 1")) == set()
    assert names(parse("@DM.WEIGHT > 1")) == set()


def test_names_ignore_string_constants_that_look_like_names():
    assert names(parse("A == 'B'")) == {"A"}


# --------------------------------------------------------------------------- evaluate
@pytest.mark.parametrize("text,env,expected", [
    ("A == 1", {"A": 1}, True),
    ("A == 1", {"A": 2}, False),
    ("A != 1", {"A": 2}, True),
    ("A != 1", {"A": 1}, False),
    ("A < 2", {"A": 1}, True),
    ("A < 2", {"A": 2}, False),
    ("A <= 2", {"A": 2}, True),
    ("A <= 2", {"A": 3}, False),
    ("A > 2", {"A": 3}, True),
    ("A > 2", {"A": 2}, False),
    ("A >= 2", {"A": 2}, True),
    ("A >= 2", {"A": 1}, False),
    ("A == 'x'", {"A": "x"}, True),
    ("A == True", {"A": True}, True),
    ("A == False", {"A": False}, True),
    ("A == True", {"A": False}, False),
    ("not A", {"A": False}, True),
    ("not A", {"A": "x"}, False),
    ("A and B", {"A": True, "B": True}, True),
    ("A and B", {"A": True, "B": False}, False),
    ("A or B", {"A": False, "B": True}, True),
    ("A or B", {"A": False, "B": False}, False),
    ("1 < A < 3", {"A": 2}, True),
    ("1 < A < 3", {"A": 3}, False),
])
def test_operators(text, env, expected):
    assert evaluate(parse(text), env) is expected


@pytest.mark.parametrize("text,expected", [
    ("A + B", Decimal("5")),
    ("A - B", Decimal("-1")),
    ("A * B", Decimal("6")),
    ("A / B", Decimal("2") / Decimal("3")),
    ("-A", Decimal("-2")),
    ("A * 1.5", Decimal("3.0")),
    ("A + 0.1 == 2.1", True),         # decimal, not binary floating point
])
def test_arithmetic(text, expected):
    assert ev(text, A=2, B=3) == expected


def test_arithmetic_is_decimal_not_float():
    assert ev("A + B", A="0.1", B="0.2") == Decimal("0.3")
    assert ev("A + B == 0.3", A="0.1", B="0.2") is True
    assert isinstance(ev("A * 2", A=1), Decimal)


def test_precedence_and_parentheses():
    assert ev("A + B * 2", A=1, B=3) == 7
    assert ev("(A + B) * 2", A=1, B=3) == 8
    assert ev("A or B and C", A=True, B=False, C=False) is True
    assert ev("(A or B) and C", A=True, B=False, C=False) is False
    assert ev("not A == 1", A=1) is False


def test_division_by_zero_is_none():
    assert ev("A / B", A=1, B=0) is None
    assert ev("A / 0", A=1) is None
    assert ev("A / B > 1", A=1, B=0) is False


# None semantics ------------------------------------------------------------------
@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordered_comparison_with_none_is_false(op):
    assert ev(f"A {op} 1", A=None) is False
    assert ev(f"1 {op} A", A=None) is False
    assert ev(f"A {op} B") is False              # both missing from env
    assert ev(f"not (A {op} 1)", A=None) is True


def test_equality_with_none():
    assert ev("A == None") is True
    assert ev("A != None") is False
    assert ev("A == None", A=0) is False
    assert ev("A != None", A=0) is True
    assert ev("A == 0") is False
    assert ev("A == B") is True                   # both empty


@pytest.mark.parametrize("text", ["A + 1", "1 - A", "A * 2", "A / 2", "2 / A", "-A",
                                  "A + B"])
def test_arithmetic_with_none_is_none(text):
    assert ev(text, B=1) is None


def test_arithmetic_with_non_numbers_is_none():
    assert ev("A + 1", A="abc") is None
    assert ev("A + 1", A=True) is None
    assert ev("A + 1", A=[1]) is None
    assert ev("-A", A="x") is None
    assert ev("A - B", A="2026-01-02", B="2026-01-01") is None


def test_in_on_none_is_an_empty_list():
    assert ev("'x' in A", A=None) is False
    assert ev("'x' not in A", A=None) is True
    assert ev("'x' in A") is False
    assert ev("A in [1, 2]", A=None) is False
    assert ev("A in [1, None]", A=None) is True
    assert ev("A not in [1, 2]", A=None) is True


def test_in_with_multichoice_list_and_list_literal():
    assert ev("'vaso' in A", A=["fluid", "vaso"]) is True
    assert ev("'vaso' in A", A=["fluid"]) is False
    assert ev("'vaso' not in A", A=["fluid"]) is True
    assert ev("'vaso' in A", A=[]) is False
    assert ev("A in ['a', 'b']", A="b") is True
    assert ev("A in ['a', 'b']", A="c") is False
    assert ev("A not in ['a', 'b']", A="c") is True
    assert ev("A in [1, 2]", A="2") is True          # numeric string vs number
    assert ev("A in [B, C]", A=3, B=1, C=3) is True
    assert ev("A in []", A=1) is False


def test_in_with_a_scalar_is_equality_not_substring():
    assert ev("'a' in A", A="abc") is False
    assert ev("'abc' in A", A="abc") is True


def test_numeric_strings_compare_as_numbers():
    assert ev("A >= 38", A="38.5") is True
    assert ev("A >= 38", A="37.9") is False
    assert ev("A == 38", A="38.0") is True
    assert ev("A > B", A="10", B="9") is True       # not "10" < "9" as strings
    assert ev("A < 38.5", A=38) is True
    assert ev("A == 1.5", A="1.50") is True
    assert ev("A >= -1", A="-0.5") is True


def test_non_numeric_strings_compare_as_strings_and_mixed_types_are_false():
    assert ev("A < 'b'", A="a") is True
    assert ev("A > 1", A="abc") is False             # str vs number: no ordering
    assert ev("A < 1", A="abc") is False
    assert ev("A == 1", A="abc") is False
    assert ev("A > 1", A=[1, 2]) is False


def test_dates_compare_as_iso_strings():
    assert ev("A < B", A="2026-01-31", B="2026-02-01") is True
    assert ev("A > '2025-12-31'", A="2026-01-01") is True
    assert ev("A <= '2026-01-01'", A="2026-01-01") is True
    assert ev("A == B", A="2026-01-01", B="2026-01-01") is True
    assert ev("A < B", A="2026-01-10T08:00:00Z", B="2026-01-10T09:00:00Z") is True
    assert ev("A < B", A=None, B="2026-01-10") is False


def test_and_or_return_operands_and_truthiness():
    assert ev("A and B", A=1, B=2) == 2
    assert ev("A or B", A=0, B="x") == "x"
    assert ev("A or B", A=None, B=None) is None
    for falsy in (None, False, 0, "", []):
        assert ev("not A", A=falsy) is True
    for truthy in (True, 1, "x", ["a"]):
        assert ev("not A", A=truthy) is False


def test_and_short_circuits():
    env = RecordingEnv(A=None, B=5)
    assert evaluate(parse("A != None and B > 1"), env) is False
    assert env.read == ["A"]


def test_or_short_circuits():
    env = RecordingEnv(A=1, B=5)
    assert evaluate(parse("A == 1 or B > 1"), env) is True
    assert env.read == ["A"]


def test_short_circuit_guards_a_division_by_zero():
    assert ev("B != 0 and A / B > 1", A=1, B=0) is False


def test_references_are_looked_up_by_their_text():
    env = {"@DM.WEIGHT": "20.5", "@EX[*].EXDOSE": ["1", "2"], "@EX[prev].EXENDTC":
           "2026-01-10T09:00:00Z", "WEIGHT": "22"}
    assert evaluate(parse("@DM.WEIGHT < WEIGHT"), env) is True
    assert evaluate(parse("@DM.WEIGHT * 1.05 > WEIGHT"), env) is False
    assert evaluate(parse("'2' in @EX[*].EXDOSE"), env) is True
    assert evaluate(parse("@EX[prev].EXENDTC < '2026-01-11'"), env) is True
    assert evaluate(parse("@IC.RFICDAT == None"), env) is True   # an absent reference is None


def test_unknown_node_refused_on_evaluate():
    with pytest.raises(ExpressionError):
        evaluate(["bogus", 1], {})


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("text", [
    # attribute access
    "A.b", "A.__class__", "x.__class__", "().__class__.__bases__", "'x'.upper",
    "@DM.WEIGHT.real",
    # calls
    "open('x')", "__import__('os')", "A()", "len(A)", "eval('1')", "exec('1')",
    "getattr(A, 'b')",
    # statements (eval mode: a syntax error)
    "import os", "from os import path", "A = 1", "del A", "pass", "A += 1",
    "exec 'x'", "assert A", "def f(): pass", "A; B", "raise ValueError",
    # lambda, subscripts, comprehensions, f-strings, dicts, sets
    "lambda: 1", "lambda A: A", "A[0]", "A[0:1]", "[A for A in B]", "[X for X in B]",
    "{X for X in B}", "{X: 1 for X in B}", "(X for X in B)", "f'{A}'", "f'x'",
    "{'a': 1}", "{1, 2}", "{}",
    # operators outside the whitelist
    "A ** 2", "A % 2", "A // 2", "A & B", "A | B", "A ^ B", "A << 1", "A >> 1", "~A",
    "A @ B", "A is None", "A is not None",
    # other syntax
    "A if B else C", "(A := 1)", "[*A]", "b'x'", "1j", "...", "await A", "yield A",
    # lowercase names (Python builtins, anything not an item name)
    "a", "abc == 1", "Abc", "A == x", "true", "none", "__builtins__", "_A",
    # bad references
    "@", "@ex.item", "@EX", "@EX.", "@EX.item", "@EX[1].ITEM", "@EX[next].ITEM",
    "@EX[*]", "@.ITEM", "A @ B", "A@B", "@EX..ITEM", "@1EX.ITEM", "@EX.ITEM@",
    # empty
    "", "   ", "\n",
])
def test_refused(text):
    with pytest.raises(ExpressionError):
        parse(text)


@pytest.mark.parametrize("text,message", [
    ("A.b", "attribute access"),
    ("open('x')", "function calls"),
    ("__import__('os')", "function calls"),
    ("A[0]", "subscripts"),
    ("import os", "syntax error"),
    ("lambda: 1", "Lambda"),
    ("[X for X in B]", "ListComp"),
    ("f'{A}'", "JoinedStr"),
    ("{'a': 1}", "Dict"),
    ("{1, 2}", "Set"),
    ("A ** 2", "arithmetic operator not allowed"),
    ("A % 2", "arithmetic operator not allowed"),
    ("A // 2", "arithmetic operator not allowed"),
    ("A & B", "arithmetic operator not allowed"),
    ("~A", "operator not allowed"),
    ("A is None", "comparison operator not allowed"),
    ("abc", "is not an item name"),
    ("@ex.item", "bad reference"),
    ("", "empty expression"),
])
def test_refusal_messages(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text)


@pytest.mark.parametrize("value", [None, 1, ["A"], b"A"])
def test_non_string_expression_refused(value):
    with pytest.raises(ExpressionError, match="empty expression"):
        parse(value)


def test_too_long_expression_refused():
    ok = " or ".join(["A == 1"] * 100)          # 1 000 characters exactly
    assert len(ok) <= MAX_LENGTH
    parse(ok)
    too_long = "A == 1 or " * 100 + "A == 1"
    assert len(too_long) > MAX_LENGTH
    with pytest.raises(ExpressionError, match="too long"):
        parse(too_long)


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_placeholder_name_is_refused_cleanly():
    with pytest.raises(ExpressionError):
        parse("__ref0__ == 1")


def test_deep_nesting_is_refused_cleanly():
    text = "-" * (MAX_LENGTH - 1) + "1"
    try:
        parse(text)
    except ExpressionError:
        return
    except RecursionError:
        pytest.fail("RecursionError escaped from parse()")
    pytest.fail("no error for a 999-deep expression")

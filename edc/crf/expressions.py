"""The safe expression language of form definitions (``show_if``, check ``when``).

Parsed with Python's :mod:`ast` on a whitelist — never ``eval`` — into a small JSON-able
tree that this module evaluates on the server and ``static/js/crf.js`` evaluates in the
browser, with the same semantics:

* names are item values (``None`` when empty); ``@FORM.ITEM``, ``@FORM[*].ITEM`` and
  ``@FORM[prev].ITEM`` are references to the patient's other records;
* ``== != < <= > >=``; an ordered comparison involving ``None`` is false;
* ``and or not`` (short-circuit; truthiness as in Python: None, False, 0, "" and [] are
  false); ``+ - * /`` (``None`` if an operand is ``None``; division by zero gives None);
* ``x in [..]`` / ``x in ITEM`` (a multichoice list; ``None`` counts as an empty list).

Tree nodes: ``["const", v]``, ``["name", "ITEM"]``, ``["ref", "@EX.ITEM"]``,
``["and", a, b, …]``, ``["or", …]``, ``["not", a]``, ``["cmp", op, a, b]``,
``["arith", op, a, b]``, ``["neg", a]``, ``["in", a, b]``, ``["notin", a, b]``,
``["list", a, …]``.
"""
from __future__ import annotations

import ast
import re
from decimal import Decimal
from typing import Any, Mapping

REF_RE = re.compile(r"@([A-Z][A-Z0-9_]*)(\[(\*|prev)\])?\.([A-Z][A-Z0-9_]*)")
_REF_PLACEHOLDER = "__ref{}__"
_NUMERIC = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # the same rule as crf.js
MAX_LENGTH = 1000


class ExpressionError(ValueError):
    pass


_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
        ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse(text: str) -> list:
    """Parse an expression into a tree, refusing everything outside the whitelist."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError("expression too long")
    if "__ref" in text:
        raise ExpressionError("names starting with __ are not allowed")
    refs: list[str] = []

    def _sub(m):
        refs.append(m.group(0))
        return _REF_PLACEHOLDER.format(len(refs) - 1)
    src = REF_RE.sub(_sub, text)
    if "@" in src:
        raise ExpressionError("bad reference: use @FORM.ITEM, @FORM[*].ITEM or "
                              "@FORM[prev].ITEM")
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise ExpressionError("expression too deeply nested") from None
    except SyntaxError as e:
        raise ExpressionError(f"syntax error: {e.msg}") from None
    try:
        return _convert(tree.body, refs)
    except RecursionError:
        raise ExpressionError("expression too deeply nested") from None


def _convert(node, refs) -> list:
    if isinstance(node, ast.Constant):
        v = node.value
        if v is None or isinstance(v, (bool, str)):
            return ["const", v]
        if isinstance(v, int):
            return ["const", v]
        if isinstance(v, float):
            return ["num", repr(v)]
        raise ExpressionError(f"constant of type {type(v).__name__} not allowed")
    if isinstance(node, ast.Name):
        m = re.fullmatch(r"__ref(\d+)__", node.id)
        if m:
            return ["ref", refs[int(m.group(1))]]
        if node.id in ("True", "False", "None"):
            return ["const", {"True": True, "False": False, "None": None}[node.id]]
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", node.id):
            raise ExpressionError(f"'{node.id}' is not an item name (upper case)")
        return ["name", node.id]
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return [op, *[_convert(v, refs) for v in node.values]]
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return ["not", _convert(node.operand, refs)]
        if isinstance(node.op, ast.USub):
            inner = _convert(node.operand, refs)
            return ["neg", inner]
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, refs)
        raise ExpressionError("operator not allowed")
    if isinstance(node, ast.Compare):
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            a, b = _convert(left, refs), _convert(right, refs)
            if type(op) in _CMP:
                parts.append(["cmp", _CMP[type(op)], a, b])
            elif isinstance(op, ast.In):
                parts.append(["in", a, b])
            elif isinstance(op, ast.NotIn):
                parts.append(["notin", a, b])
            else:
                raise ExpressionError("comparison operator not allowed (use == != < <= > "
                                      ">= in, not in)")
            left = right
        return parts[0] if len(parts) == 1 else ["and", *parts]
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH:
            raise ExpressionError("arithmetic operator not allowed (use + - * /)")
        return ["arith", _ARITH[type(node.op)], _convert(node.left, refs),
                _convert(node.right, refs)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return ["list", *[_convert(e, refs) for e in node.elts]]
    if isinstance(node, ast.Attribute):
        raise ExpressionError("attribute access is not allowed")
    if isinstance(node, ast.Call):
        raise ExpressionError("function calls are not allowed")
    if isinstance(node, ast.Subscript):
        raise ExpressionError("subscripts are not allowed")
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def names(tree: list) -> set[str]:
    """Item names the tree reads (not references to other forms)."""
    out: set[str] = set()
    _walk(tree, lambda n: out.add(n[1]) if n[0] == "name" else None)
    return out


def refs(tree: list) -> set[str]:
    out: set[str] = set()
    _walk(tree, lambda n: out.add(n[1]) if n[0] == "ref" else None)
    return out


def _walk(tree, fn):
    fn(tree)
    if tree[0] in ("const", "name", "ref", "num"):
        return
    for child in tree[1:]:
        if isinstance(child, list):
            _walk(child, fn)


def _num(v):
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, str) and _NUMERIC.fullmatch(v):
        return Decimal(v)
    return v


def _truthy(v) -> bool:
    return bool(v)


def _compare(op, a, b) -> bool:
    a, b = _num(a), _num(b)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if a is None or b is None:
        return False
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        return False
    raise ExpressionError(op)


def evaluate(tree: list, env: Mapping[str, Any]) -> Any:
    """Evaluate a parsed tree. ``env`` maps item names and reference strings to values."""
    kind = tree[0]
    if kind == "const":
        return tree[1]
    if kind == "num":
        return Decimal(tree[1])
    if kind in ("name", "ref"):
        return env.get(tree[1])
    if kind == "and":
        v: Any = True
        for child in tree[1:]:
            v = evaluate(child, env)
            if not _truthy(v):
                return v
        return v
    if kind == "or":
        v = False
        for child in tree[1:]:
            v = evaluate(child, env)
            if _truthy(v):
                return v
        return v
    if kind == "not":
        return not _truthy(evaluate(tree[1], env))
    if kind == "cmp":
        return _compare(tree[1], evaluate(tree[2], env), evaluate(tree[3], env))
    if kind in ("in", "notin"):
        needle, hay = evaluate(tree[1], env), evaluate(tree[2], env)
        hay = [] if hay is None else hay
        if not isinstance(hay, (list, tuple)):
            hay = [hay]
        found = any(_compare("==", needle, h) for h in hay)
        return found if kind == "in" else not found
    if kind == "list":
        return [evaluate(c, env) for c in tree[1:]]
    if kind == "neg":
        v = _num(evaluate(tree[1], env))
        return None if v is None or not isinstance(v, Decimal) else -v
    if kind == "arith":
        a, b = _num(evaluate(tree[2], env)), _num(evaluate(tree[3], env))
        if not isinstance(a, Decimal) or not isinstance(b, Decimal):
            return None
        op = tree[1]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return None if b == 0 else a / b
    raise ExpressionError(f"unknown node {kind}")

"""The browser evaluates the same parsed trees as the server: prove identical results by
running edc/static/js/crf.js under Node on every show_if and check of the trial's forms,
with generated item values, plus a corpus of edge cases."""
import json
import random
import shutil
import subprocess

import pytest

from edc import REPO_ROOT
from edc.crf import expressions
from edc.crf.definitions import load_catalog

NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js runs crf.js outside a browser")

EDGE = [
    ("A >= 38", {"A": "38.0"}), ("A >= 38", {"A": None}), ("A < 38", {"A": None}),
    ("A == None", {"A": None}), ("A != None", {"A": 0}), ("not A", {"A": []}),
    ("'x' in A", {"A": None}), ("'x' not in A", {"A": ["x", "y"]}),
    ("A in ['a', 'b']", {"A": "b"}), ("A * 1.1 > 10", {"A": "9.2"}),
    ("A / 0 == None", {"A": 3}), ("-A < 0", {"A": "2.5"}), ("A + B", {"A": 1, "B": None}),
    ("A < B", {"A": "2026-01-02", "B": "2026-01-10"}), ("A or B", {"A": 0, "B": ""}),
    ("A and B or C", {"A": True, "B": False, "C": "z"}), ("A == True", {"A": True}),
    ("@EX.B != C", {"@EX.B": "MIL-1", "C": "MIL-2"}), ("1 < A < 5", {"A": 3}),
    ("A == 'ES01-0007-K'", {"A": "ES01-0007-K"}), ("A >= 6.5", {"A": 6}),
]


def _value(item, rng):
    t = item.type
    if rng.random() < 0.25:
        return None
    if t == "integer":
        lo, hi = item.range or (-5, 50)
        return rng.randint(int(lo if lo is not None else -5), int(hi if hi is not None else 50))
    if t == "decimal":
        return f"{rng.uniform(-1, 60):.1f}"
    if t == "boolean":
        return rng.random() < 0.5
    if t == "choice":
        return rng.choice(item.codelist).code if item.codelist else None
    if t == "multichoice":
        return [c.code for c in item.codelist if rng.random() < 0.3] or None
    if t in ("date", "datetime"):
        return f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    return rng.choice(["", "abc", "MIL-1"])


def _cases():
    cat = load_catalog(REPO_ROOT / "forms")
    rng = random.Random(20261126)
    cases = [(expressions.parse(src), env) for src, env in EDGE]
    for form in cat.forms.values():
        trees = [i.show_tree for i in form.items.values() if i.show_tree] + \
                [c.tree for c in form.checks]
        for tree in trees:
            for _ in range(8):
                env = {n: _value(i, rng) for n, i in form.items.items()}
                for ref in expressions.refs(tree):
                    env[ref] = rng.choice([None, "MIL-1", "12", "2026-01-01"])
                cases.append((tree, env))
    return cases


def _py(v):
    v = expressions.evaluate(*v) if isinstance(v, tuple) else v
    return bool(v)


def test_browser_and_server_agree():
    cases = _cases()
    assert len(cases) > 300
    script = (
        "const {evaluate, truthy} = require(process.argv[1]);"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(cases.map(c => truthy(evaluate(c[0], c[1])))));")
    out = subprocess.run([NODE, "-e", script, str(REPO_ROOT / "edc/static/js/crf.js")],
                         input=json.dumps(cases), capture_output=True, text=True,
                         check=True, timeout=60)
    js = json.loads(out.stdout)
    py = [bool(expressions.evaluate(tree, env)) for tree, env in cases]
    mismatches = [(cases[i], py[i], js[i]) for i in range(len(cases)) if py[i] != js[i]]
    assert mismatches == []

"""bandit over the application code: every finding is fixed or justified in the code
(``# nosec <ID> — why``)."""
import json
import shutil
import subprocess
import sys

import pytest

from edc import REPO_ROOT


@pytest.mark.no_database
def test_bandit_finds_nothing_unjustified():
    exe = shutil.which("bandit", path=str(REPO_ROOT / ".venv/bin")) or shutil.which("bandit")
    cmd = [exe] if exe else [sys.executable, "-m", "bandit"]
    out = subprocess.run([*cmd, "-q", "-r", str(REPO_ROOT / "edc"), "-f", "json"],
                         capture_output=True, text=True, check=False, timeout=300)
    report = json.loads(out.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
                for r in report["results"]]
    assert findings == []

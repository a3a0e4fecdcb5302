"""`flask --app edc export verify DIR` detects a one-byte change in any file."""
import os
import shutil

import pytest

from edc.exports import manifest as mf
from edc.exports import services


@pytest.fixture
def copy(app, trial, tmp_path):
    from helpers import email_for

    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    with app.app_context():
        dm = Actor.of(get_user_by_email(email_for("data_manager", "ES01")), "t")
        _lock, snap = services.lock_database(dm, kind="full")
        src = services.snapshot_dir(snap)
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    for p in [dst, *dst.iterdir()]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return dst


def _verify(app, path, *extra):
    return app.test_cli_runner().invoke(args=["export", "verify", str(path), *extra])


def _out(res):
    return res.output


def test_intact_snapshot_verifies(app, copy):
    res = _verify(app, copy)
    assert res.exit_code == 0, _out(res)
    assert "intact" in res.output


def test_one_byte_change_in_any_file_is_detected(app, copy):
    names = sorted(p.name for p in copy.iterdir())
    assert len(names) > 40
    for name in names:
        path = copy / name
        original = path.read_bytes()
        i = len(original) // 2
        path.write_bytes(original[:i] + bytes([original[i] ^ 0x01]) + original[i + 1:])
        res = _verify(app, copy)
        path.write_bytes(original)
        assert res.exit_code != 0, name
        assert name in _out(res) or "manifest.sig" in _out(res), (name, _out(res))
    assert _verify(app, copy).exit_code == 0


def test_missing_added_and_resigned_files_are_detected(app, copy, tmp_path):
    (copy / "extra.csv").write_text("x\n")
    res = _verify(app, copy)
    assert res.exit_code != 0 and "extra.csv" in _out(res)
    os.remove(copy / "extra.csv")
    dm = copy / "DM.csv"
    saved = dm.read_bytes()
    os.remove(dm)
    res = _verify(app, copy)
    assert res.exit_code != 0 and "DM.csv: missing" in _out(res)
    dm.write_bytes(saved)
    # a forger re-hashes and re-signs with another key: the instance key refuses it
    import json
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    man = json.loads((copy / mf.MANIFEST).read_text())
    mf.write_signed(copy, man, Ed25519PrivateKey.generate())
    res = _verify(app, copy)
    assert res.exit_code != 0 and "manifest.sig" in _out(res)


def test_verify_with_a_downloaded_public_key(app, copy, tmp_path):
    pem = tmp_path / "key.pem"
    with app.app_context():
        pem.write_bytes(services.public_key_pem())
    res = _verify(app, copy, "--public-key", str(pem))
    assert res.exit_code == 0, _out(res)

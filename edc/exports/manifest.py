"""The manifest of a snapshot and its Ed25519 signature, and their verification.

``manifest.json`` lists every file with its size and SHA-256, and says what the snapshot
is (name, locked or not, lock time and who locked, form versions, record counts per form
and site). ``manifest.sig`` is the base64 Ed25519 signature of the manifest's bytes with
the instance key (``instance/signing.key``). Pure apart from reading the key file.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                Ed25519PublicKey)

from .. import keys

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing_public_key.pem"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
CHUNK = 1 << 20


# ---------------------------------------------------------------- keys
def key_path(config: dict, instance_path: str) -> Path:
    name = config.get("SIGNING_KEY_FILE") or "signing.key"
    return Path(instance_path, name)


def load_private_key(config: dict, instance_path: str, *, create: bool = True) \
        -> Ed25519PrivateKey:
    """The instance's signing key; created (mode 0600) on first use if missing."""
    path = key_path(config, instance_path)
    if not path.exists():
        if not create:
            raise keys.KeyError_(f"no signing key: run 'flask --app edc init' "
                                 f"(looked for {path})")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            keys.write_secret_file(path, keys.new_signing_key_pem())
        except FileExistsError:
            pass  # written by a concurrent first use
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise keys.KeyError_(f"{path} is not an Ed25519 private key")
    return key


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise keys.KeyError_("not an Ed25519 public key")
    return key


# ---------------------------------------------------------------- files
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


def file_entry(directory: Path, name: str) -> dict:
    path = directory / name
    return {"path": name, "size": path.stat().st_size, "sha256": sha256_file(path)}


def dumps(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_signed(directory: Path, manifest: dict, key: Ed25519PrivateKey) -> bytes:
    """Write manifest.json and manifest.sig (Ed25519 signatures are deterministic)."""
    blob = dumps(manifest)
    (directory / MANIFEST).write_bytes(blob)
    sig = base64.b64encode(key.sign(blob)) + b"\n"
    (directory / SIGNATURE).write_bytes(sig)
    return blob


def freeze(directory: Path) -> None:
    """Make the snapshot read-only on disk, for its owner only (files 0400, directory
    0500)."""
    for p in directory.iterdir():
        os.chmod(p, 0o400)
    os.chmod(directory, 0o500)


# ---------------------------------------------------------------- verification
def verify(directory: Path, public: Ed25519PublicKey) -> tuple[list[str], dict | None]:
    """Every problem found (empty: intact), and the manifest when it could be read.

    Checks the signature of manifest.json with ``public``, then each listed file's size
    and SHA-256, and that no file was added."""
    problems: list[str] = []
    directory = Path(directory)
    mpath, spath = directory / MANIFEST, directory / SIGNATURE
    if not directory.is_dir():
        return [f"{directory}: not a directory"], None
    if not mpath.exists():
        return [f"{MANIFEST}: missing"], None
    blob = mpath.read_bytes()
    if not spath.exists():
        problems.append(f"{SIGNATURE}: missing — the manifest is not signed")
    else:
        try:
            public.verify(base64.b64decode(spath.read_bytes().strip(), validate=True), blob)
        except (InvalidSignature, ValueError):
            problems.append(f"{SIGNATURE}: the signature does not match {MANIFEST} and the "
                            f"public key (the manifest was changed, or signed by another "
                            f"key)")
    try:
        manifest = json.loads(blob.decode("utf-8"))
        files = manifest["files"]
        if not isinstance(files, list):
            raise ValueError("files is not a list")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        problems.append(f"{MANIFEST}: not a valid manifest")
        return problems, None
    fp = (manifest.get("signing") or {}).get("public_key_sha256")
    if fp and fp != fingerprint(public):
        problems.append(f"{MANIFEST}: signed by another key (fingerprint {fp[:16]}…, "
                        f"expected {fingerprint(public)[:16]}…)")
    listed = set()
    for entry in files:
        if not isinstance(entry, dict):
            problems.append(f"{MANIFEST}: bad file entry {entry!r}"[:200])
            continue
        name = str(entry.get("path", ""))
        if not SAFE_NAME.match(name) or name in (MANIFEST, SIGNATURE):
            problems.append(f"{MANIFEST}: bad file name {name!r}")
            continue
        listed.add(name)
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        size = path.stat().st_size
        if size != entry.get("size"):
            problems.append(f"{name}: size {size} bytes, the manifest says "
                            f"{entry.get('size')}")
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            problems.append(f"{name}: SHA-256 {digest} differs from the manifest "
                            f"({entry.get('sha256')}): the file was changed")
    for path in sorted(directory.iterdir()):
        if path.name not in listed and path.name not in (MANIFEST, SIGNATURE):
            problems.append(f"{path.name}: not listed in the manifest (added)")
    return problems, manifest

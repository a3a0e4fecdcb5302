"""Instance keys and envelope encryption (cryptography's AES-GCM and HMAC).

The master key (32 bytes) lives in ``instance/master.key`` (mode 0600) or in
``EDC_MASTER_KEY``; it never enters the database. Each site has its own random data key,
stored only wrapped (AES-GCM) by the master key. Losing the master key loses every
encrypted identifier: back it up apart from the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_WRAP_AAD = b"milenari-edc site data key v1"


class KeyError_(RuntimeError):
    pass


def new_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def write_secret_file(path: Path, text: str) -> None:
    """Create a file readable by its owner only (0600), refusing to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def load_master_key(config: dict, instance_path: str) -> bytes:
    raw = config.get("MASTER_KEY")
    if not raw:
        path = Path(instance_path, config.get("MASTER_KEY_FILE") or "master.key")
        if not path.exists():
            raise KeyError_(f"no master key: run 'flask --app edc init' or set EDC_MASTER_KEY "
                            f"(looked for {path})")
        raw = path.read_text().strip()
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise KeyError_("the master key must be 32 bytes, base64-encoded")
    return key


def wrap(master: bytes, data_key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _WRAP_AAD)


def unwrap(master: bytes, wrapped: bytes) -> bytes:
    return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], _WRAP_AAD)


def new_wrapped_site_key(master: bytes) -> bytes:
    return wrap(master, os.urandom(32))


def encrypt_json(data_key: bytes, payload: dict, aad: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(12)
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return nonce, AESGCM(data_key).encrypt(nonce, blob, aad)


def decrypt_json(data_key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> dict:
    return json.loads(AESGCM(data_key).decrypt(nonce, ciphertext, aad).decode("utf-8"))


def keyed_hmac(data_key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 under a key derived from the site key for one purpose."""
    sub = hmac.new(data_key, b"hmac:" + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(sub, value.encode("utf-8"), hashlib.sha256).hexdigest()


def new_signing_key_pem() -> str:
    """A new Ed25519 private key (PKCS#8 PEM) for signing export manifests."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")

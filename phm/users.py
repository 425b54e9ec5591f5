"""Who may sign in to `phm serve`, and which neighbourhood each person is bound to.

The users file is YAML, one entry per user, with an scrypt hash of the password (the standard library's
hashlib.scrypt, memory-hard; parameters stored with each hash so they can be raised later):

    users:
      jo.smith:
        neighbourhood: Wisbech Neighbourhood
        password: scrypt$16384$8$1$<salt base64>$<hash base64>

Create entries with `phm users add`; the file holds no plain-text password and is not committed (.gitignore).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from assets.paths import PROJECT_ROOT, resolve

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


def default_users_path() -> Path:
    return resolve(os.environ.get("PHM_USERS_FILE", PROJECT_ROOT / "config" / "users.yaml"))


@dataclass(frozen=True)
class User:
    username: str
    neighbourhood: str


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(
        [
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(base64.b64decode(expected)),
    )
    return hmac.compare_digest(digest, base64.b64decode(expected))


def load_users(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("users") or {})


def add_user(path: Path, username: str, neighbourhood: str, password: str) -> None:
    """Add or replace one user; the file is rewritten whole and readable by its owner only."""
    if not USERNAME_PATTERN.match(username):
        raise ValueError("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    users = load_users(path)
    users[username] = {"neighbourhood": neighbourhood, "password": hash_password(password)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"users": users}, sort_keys=True))
    tmp.chmod(0o600)
    tmp.replace(path)


def authenticate(path: Path, username: str, password: str) -> User | None:
    entry = load_users(path).get(username)
    if entry is None:
        # Same work as a real check, so a wrong username takes as long as a wrong password.
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, str(entry.get("password", ""))):
        return None
    return User(username, entry["neighbourhood"])


def lookup(path: Path, username: str) -> User | None:
    entry = load_users(path).get(username)
    return User(username, entry["neighbourhood"]) if entry else None


_DUMMY_HASH = hash_password("not a real password")

"""Sign-in credentials and the export audit log: no plain-text password is stored, a wrong password or unknown
user is refused, and concurrent exports append whole records."""

from __future__ import annotations

import json
import threading

import pytest

from phm import audit, users


def test_password_is_stored_hashed_and_verified(tmp_path):
    path = tmp_path / "users.yaml"
    users.add_user(path, "jo.smith", "Wisbech Neighbourhood", "a long passphrase")
    text = path.read_text()
    assert "a long passphrase" not in text and "scrypt$" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert users.authenticate(path, "jo.smith", "a long passphrase") == users.User("jo.smith", "Wisbech Neighbourhood")
    assert users.authenticate(path, "jo.smith", "a long passphrasE") is None
    assert users.authenticate(path, "someone.else", "a long passphrase") is None


def test_two_hashes_of_one_password_differ_by_salt():
    first, second = users.hash_password("same password"), users.hash_password("same password")
    assert first != second
    assert users.verify_password("same password", first) and users.verify_password("same password", second)
    assert not users.verify_password("same password", "md5$not-a-scrypt-hash")


def test_adding_a_user_again_rebinds_and_keeps_the_others(tmp_path):
    path = tmp_path / "users.yaml"
    users.add_user(path, "jo.smith", "Wisbech Neighbourhood", "first passphrase")
    users.add_user(path, "sam.jones", "March Neighbourhood", "second passphrase")
    users.add_user(path, "jo.smith", "Ely Neighbourhood", "third passphrase")
    assert users.lookup(path, "jo.smith") == users.User("jo.smith", "Ely Neighbourhood")
    assert users.authenticate(path, "jo.smith", "first passphrase") is None
    assert users.lookup(path, "sam.jones").neighbourhood == "March Neighbourhood"


@pytest.mark.parametrize("username, password", [("Jo Smith", "a long passphrase"), ("jo", "short")])
def test_bad_usernames_and_short_passwords_are_refused(tmp_path, username, password):
    with pytest.raises(ValueError):
        users.add_user(tmp_path / "users.yaml", username, "Wisbech Neighbourhood", password)
    assert not (tmp_path / "users.yaml").exists()


def test_audit_records_every_concurrent_export_whole(tmp_path):
    log = tmp_path / "audit" / "exports.jsonl"

    def export(i):
        audit.record_export(
            log,
            user=f"user{i}",
            channel="web",
            neighbourhood="Wisbech Neighbourhood",
            list_name="your_healthier_futures",
            filters={"practice": "D81001", "note": "x" * 5000},
            rows=i,
            identifiable=True,
            run_id="run-1",
        )

    threads = [threading.Thread(target=export, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = audit.read_exports(log)
    assert sorted(e["rows"] for e in entries) == list(range(20))
    assert all(e["identifiable"] and e["filters"]["practice"] == "D81001" and e["at"] for e in entries)
    assert len(log.read_text().splitlines()) == 20 and all(json.loads(line) for line in log.read_text().splitlines())

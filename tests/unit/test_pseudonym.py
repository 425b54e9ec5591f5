"""The pseudonym key fails closed: production needs a strong key; an unknown environment is refused."""

from __future__ import annotations

import pytest

from assets.pseudonym import DEVELOPMENT_KEY, MissingPseudonymKey, person_id, pseudonym_key


@pytest.mark.parametrize("environment", ["production", "Production", " PRODUCTION "])
def test_production_without_a_key_is_refused_whatever_the_case(monkeypatch, environment):
    monkeypatch.setenv("PHM_ENV", environment)
    monkeypatch.delenv("PHM_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingPseudonymKey, match="not set"):
        pseudonym_key()


@pytest.mark.parametrize("environment", ["prod", "live", ""])
def test_an_unknown_environment_is_refused(monkeypatch, environment):
    monkeypatch.setenv("PHM_ENV", environment)
    monkeypatch.setenv("PHM_PSEUDONYM_KEY", "x" * 40)
    with pytest.raises(MissingPseudonymKey, match="PHM_ENV"):
        pseudonym_key()


def test_production_refuses_a_short_or_public_key(monkeypatch):
    monkeypatch.setenv("PHM_ENV", "production")
    monkeypatch.setenv("PHM_PSEUDONYM_KEY", "short")
    with pytest.raises(MissingPseudonymKey, match="shorter"):
        pseudonym_key()
    monkeypatch.setenv("PHM_PSEUDONYM_KEY", DEVELOPMENT_KEY + "-padding-to-be-long-enough")
    assert not pseudonym_key().is_development_default  # a different key, merely similar
    monkeypatch.setenv("PHM_PSEUDONYM_KEY", DEVELOPMENT_KEY)
    with pytest.raises(MissingPseudonymKey):
        pseudonym_key()


def test_development_default_is_said_out_loud_and_a_configured_key_is_recorded_without_the_key(monkeypatch):
    monkeypatch.delenv("PHM_ENV", raising=False)
    monkeypatch.delenv("PHM_PSEUDONYM_KEY", raising=False)
    default = pseudonym_key()
    assert default.is_development_default and "PUBLIC development default" in default.description
    secret = "s3cret-" * 6
    monkeypatch.setenv("PHM_ENV", "production")
    monkeypatch.setenv("PHM_PSEUDONYM_KEY", secret)
    configured = pseudonym_key()
    assert configured.key == secret.encode() and secret not in configured.description
    assert "fingerprint" in configured.description
    assert person_id("9000000009", configured.key) != person_id("9000000009", default.key)

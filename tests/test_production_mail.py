"""Production refuses the default console mail backend, which would print live password reset
links to the log: a real backend (SMTP) must be configured, or console mail chosen explicitly."""

import logging

import pytest
from pydantic import ValidationError

from backoffice import Settings
from backoffice.config import MailBackendError

STRONG_KEY = "kX3v9-Qm2pL8zR5tW1yB7nC4hJ6dF0gS-aE2uI9oP3"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ENV", "SECRET_KEY", "MAIL_BACKEND"):
        monkeypatch.delenv(f"BACKOFFICE_{name}", raising=False)
    monkeypatch.setenv("BACKOFFICE_SECRET_KEY", STRONG_KEY)
    return monkeypatch


def test_production_with_the_default_console_mail_refuses_to_start_and_says_why(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BACKOFFICE_ENV", "production")

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)

    errors = caught.value.errors()
    assert len(errors) == 1
    error = errors[0]["ctx"]["error"]
    assert isinstance(error, MailBackendError)
    assert "BACKOFFICE_MAIL_BACKEND" in str(error)
    assert "reset links" in str(error)


def test_production_with_smtp_starts(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("BACKOFFICE_ENV", "production")
    environment.setenv("BACKOFFICE_MAIL_BACKEND", "smtp")

    settings = Settings(_env_file=None)

    assert settings.is_production
    assert settings.mail_backend == "smtp"


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_production_with_console_mail_chosen_explicitly_starts_with_a_warning(
    environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    environment.setenv("BACKOFFICE_ENV", "production")
    options = {}
    if how == "environment":
        environment.setenv("BACKOFFICE_MAIL_BACKEND", "console")
    else:
        options["mail_backend"] = "console"

    with caplog.at_level(logging.WARNING, logger="backoffice"):
        settings = Settings(_env_file=None, **options)  # type: ignore[arg-type]

    assert settings.mail_backend == "console"
    assert "reset links are printed to the log" in caplog.text


def test_development_keeps_console_mail_as_the_default(environment: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).mail_backend == "console"

"""The project name and logo in the admin come from the settings."""

import pytest

from backoffice import Settings
from tests.admin.conftest import AdminBrowser

LOGO = "https://cdn.example.com/acme-logo.png"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"logo_url": LOGO, "project_name": "Acme back office"})


async def test_the_logo_and_project_name_are_shown(signed_in: AdminBrowser) -> None:
    page = await signed_in.client.get("/admin/")
    assert f'<img src="{LOGO}"' in page.text
    assert 'alt="Acme back office"' in page.text
    assert "<title>Acme back office</title>" in page.text


def test_the_logo_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKOFFICE_LOGO_URL", "/static/logo.svg")
    assert Settings(_env_file=None).logo_url == "/static/logo.svg"  # type: ignore[call-arg]
    monkeypatch.delenv("BACKOFFICE_LOGO_URL")
    assert Settings(_env_file=None).logo_url is None  # type: ignore[call-arg]

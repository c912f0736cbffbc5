"""The user admin's edit form and email addresses: changing one's own takes the current
password; whoever changes one, the old address is told (a real local SMTP server receives it)."""

import pytest

from backoffice import BackOffice, Settings
from backoffice.models import User
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account
from tests.smtp import MailServer

NEW_EMAIL = "moved@elsewhere.example"


@pytest.fixture
def settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(update=mail_server.settings())


@pytest.fixture
async def as_staff(browser: AdminBrowser, staff: Account) -> AdminBrowser:
    assert (await browser.login("staffer")).status_code == 302
    return browser


async def email_of(office: BackOffice, account: Account) -> str:
    async with office.session() as session:
        user = await session.get(User, account.id)
    assert user is not None
    return user.email


def own_form(**fields: str) -> dict[str, str]:
    return {
        "email": NEW_EMAIL,
        "username": "staffer",
        "is_active": "y",
        "is_staff": "y",
        **fields,
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "Give your current password to change your email address."),
        ("Not-the-Passw0rd", "The current password is incorrect."),
    ],
)
async def test_ones_own_email_needs_the_current_password_on_the_form(
    as_staff: AdminBrowser, office: BackOffice, staff: Account, given: str, message: str
) -> None:
    response = await as_staff.submit(
        f"/admin/user/edit/{staff.id}", own_form(current_password=given)
    )

    assert response.status_code == 400
    assert message in (form_error(response.text) or "")
    if given:
        assert given not in response.text
    assert await email_of(office, staff) == "staffer@example.com"


async def test_with_the_password_ones_own_email_changes_and_the_old_address_is_told(
    as_staff: AdminBrowser, office: BackOffice, staff: Account, mail_server: MailServer
) -> None:
    form = own_form(current_password=staff.password)

    response = await as_staff.submit(f"/admin/user/edit/{staff.id}", form)

    assert response.status_code == 302, form_error(response.text)
    assert await email_of(office, staff) == NEW_EMAIL
    notice = await mail_server.wait_for("staffer@example.com")
    assert "staffer@example.com" in notice.text
    assert staff.password not in notice.text and NEW_EMAIL not in notice.text
    assert "token" not in notice.text.lower() and "http" not in notice.text


async def test_an_admin_changes_someones_email_without_their_password_and_they_are_told(
    signed_in: AdminBrowser, office: BackOffice, alice: Account, mail_server: MailServer
) -> None:
    edit = f"/admin/user/edit/{alice.id}"
    page = await signed_in.client.get(edit)
    assert 'name="current_password"' in page.text

    form = {"email": NEW_EMAIL, "username": "alice", "is_active": "y"}
    response = await signed_in.submit(edit, form)

    assert response.status_code == 302, form_error(response.text)
    assert await email_of(office, alice) == NEW_EMAIL
    notice = await mail_server.wait_for("alice@example.com")
    assert "alice@example.com" in notice.text and NEW_EMAIL not in notice.text

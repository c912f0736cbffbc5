"""A relation field's choices are the related rows the caller may view through the related
resource's service, each shown by its label (never ``str(obj)``, which for a SQLModel row lists
every field, a password hash included)."""

import re

from backoffice.services import Caller
from tests.admin import rules_models
from tests.admin.rules_models import Library, scene, signed_in_as
from tests.conftest import grant, make_user

library = rules_models.library  # the fixture


def choices(html: str, field: str) -> list[tuple[str, str]]:
    """(value, label) of the options of the select named ``field`` (blank option left out)."""
    select = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select named {field}"
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    return [(value, label.strip()) for value, label in options if value != "__None"]


async def test_choices_are_the_related_rows_the_caller_may_see(library: Library) -> None:
    office, client = library
    loans = await scene(office)
    clerk = await make_user(office, "desk", is_staff=True)
    await grant(office, clerk, ["renewals.add", "renewals.change", "loans.view"])
    async with office.session() as session:
        # The desk sees only their own loans: lend them one.
        service = office.service("loans", session, Caller.operator("system"))
        own = await service.create({"title": "Desk book", "member_id": clerk.id})
    browser = await signed_in_as(client, "desk")
    page = await browser.client.get("/admin/renewal/create")
    assert page.status_code == 200
    assert choices(page.text, "loan") == [(str(own.id), "Desk book")]
    assert "Mine open" not in page.text and "Someone else" not in page.text

    refused = await browser.submit(
        "/admin/renewal/create", {"loan": str(loans.others), "weeks": "2"}
    )
    assert refused.status_code == 400  # not a choice: the form refuses it
    created = await browser.submit("/admin/renewal/create", {"loan": str(own.id), "weeks": "2"})
    assert created.status_code == 302, created.text


async def test_without_view_permission_only_the_current_value_is_offered(
    library: Library,
) -> None:
    office, client = library
    loans = await scene(office)
    desk = await make_user(office, "desk", is_staff=True)
    await grant(office, desk, ["renewals.add", "renewals.change"])
    async with office.session() as session:
        renewal = await office.service("renewals", session, Caller.operator("system")).create(
            {"loan_id": loans.others, "weeks": 1}
        )
    browser = await signed_in_as(client, "desk")
    assert choices((await browser.client.get("/admin/renewal/create")).text, "loan") == []
    edit = await browser.client.get(f"/admin/renewal/edit/{renewal.id}")
    assert edit.status_code == 200
    # The current loan stays (saving keeps it), named by its key: its title is not for them.
    assert choices(edit.text, "loan") == [(str(loans.others), f"Loan {loans.others}")]
    assert "Someone else" not in edit.text
    saved = await browser.submit(
        f"/admin/renewal/edit/{renewal.id}", {"loan": str(loans.others), "weeks": "3"}
    )
    assert saved.status_code == 302, saved.text


async def test_a_related_user_is_shown_by_a_label_never_with_its_hash(library: Library) -> None:
    office, client = library
    await scene(office)
    browser = await signed_in_as(client, "root")
    page = await browser.client.get("/admin/loan/create")
    labels = [label for _, label in choices(page.text, "member")]
    assert "clerk" in labels  # the username: User.__str__
    assert "$argon2" not in page.text and "hashed_password" not in page.text
    listing = await browser.client.get("/admin/renewal/list")
    assert "$argon2" not in listing.text

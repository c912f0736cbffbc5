"""A relation field's choices are the related rows the caller may view through the related
resource's service, each shown by its label (never ``str(obj)``, which for a SQLModel row lists
every field, a password hash included).

A foreign key to a registered resource is searched on demand (``/admin/{identity}/choices/
{field}``): the form holds only the current value; a page of at most 20 matches is read per
request, never the whole table."""

import re
from typing import Any

from sqlmodel import select

from backoffice.services import Caller
from tests.admin import rules_models
from tests.admin.rules_models import Library, Renewal, lend, scene, signed_in_as
from tests.conftest import grant, make_user

library = rules_models.library  # the fixture


def choices(html: str, field: str) -> list[tuple[str, str]]:
    """(value, label) of the options of the select named ``field`` (blank option left out)."""
    select = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select named {field}"
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    return [(value, label.strip()) for value, label in options if value != "__None"]


async def search(browser: Any, path: str, **params: str) -> tuple[list[tuple[str, str]], bool]:
    response = await browser.client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [(item["id"], item["label"]) for item in body["results"]], body["more"]


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
    assert choices(page.text, "loan") == []  # nothing read up front: searched as one types
    assert 'data-choices-url="http://testserver/admin/renewal/choices/loan"' in page.text
    assert await search(browser, "/admin/renewal/choices/loan") == (
        [(str(own.id), "Desk book")],
        False,
    )
    assert "Mine open" not in page.text and "Someone else" not in page.text

    refused = await browser.submit(
        "/admin/renewal/create", {"loan": str(loans.others), "weeks": "2"}
    )
    assert refused.status_code == 400  # not a row they may see: the form refuses it
    assert "Someone else" not in refused.text
    created = await browser.submit("/admin/renewal/create", {"loan": str(own.id), "weeks": "2"})
    assert created.status_code == 302, created.text
    async with office.session() as session:
        renewal = (await session.exec(select(Renewal))).one()
    edit = await browser.client.get(f"/admin/renewal/edit/{renewal.id}")
    assert choices(edit.text, "loan") == [(str(own.id), "Desk book")]  # the current value only


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
    assert await search(browser, "/admin/renewal/choices/loan") == ([], False)
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
    assert "$argon2" not in page.text and "hashed_password" not in page.text
    found, _ = await search(browser, "/admin/loan/choices/member")
    assert "clerk" in [label for _, label in found]  # the username: User.__str__
    raw = await browser.client.get("/admin/loan/choices/member", params={"q": "argon2"})
    assert raw.json() == {"results": [], "more": False}  # the hash is not searched either
    for q in ("", "clerk", "$"):
        text = (await browser.client.get("/admin/loan/choices/member", params={"q": q})).text
        assert "$argon2" not in text and "hashed_password" not in text
    listing = await browser.client.get("/admin/renewal/list")
    assert "$argon2" not in listing.text


async def test_the_search_reads_one_page_and_narrows(library: Library) -> None:
    office, client = library
    await scene(office)  # four loans
    root_id = (await make_user(office, "boss", is_staff=True, is_superuser=True)).id
    for number in range(26):
        await lend(office, f"Atlas {number:02}", root_id)
    browser = await signed_in_as(client, "boss")
    first, more = await search(browser, "/admin/renewal/choices/loan")
    assert len(first) == 20 and more  # 30 rows: a page of 20, and more to come
    second, more = await search(browser, "/admin/renewal/choices/loan", page="2")
    assert len(second) == 10 and not more
    assert not {key for key, _ in first} & {key for key, _ in second}
    narrowed, more = await search(browser, "/admin/renewal/choices/loan", q="atlas 1")
    assert [label for _, label in narrowed] == [f"Atlas {n}" for n in range(10, 20)]
    assert not more
    percent, _ = await search(browser, "/admin/renewal/choices/loan", q="%")
    assert percent == []  # a wildcard is taken literally


async def test_a_hidden_row_is_never_offered(library: Library) -> None:
    office, client = library
    loans = await scene(office)
    await grant(office, (await make_user(office, "desk", is_staff=True)), ["renewals.add"])
    clerk = await signed_in_as(client, "clerk")  # loans.view: sees their own, not archived
    found, _ = await search(clerk, "/admin/loan/choices/member")
    # loans.change but no users.view: only their own account (the users service's rule)
    assert found == [("2", "clerk")]
    desk = await signed_in_as(client, "desk")
    assert await search(desk, "/admin/renewal/choices/loan", q="secret") == ([], False)
    root = await signed_in_as(client, "root")
    every, _ = await search(root, "/admin/renewal/choices/loan")
    assert str(loans.others) in {key for key, _ in every}


async def test_the_search_answers_only_who_may_view_add_or_change_and_checks_input(
    library: Library,
) -> None:
    office, client = library
    await scene(office)
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["renewals.delete", "loans.view"])
    browser = await signed_in_as(client, "viewer")
    assert (await browser.client.get("/admin/renewal/choices/loan")).status_code == 403
    root = await signed_in_as(client, "root")
    assert (await root.client.get("/admin/renewal/choices/weeks")).status_code == 404
    assert (await root.client.get("/admin/nothing/choices/loan")).status_code == 404
    for params in ({"page": "0"}, {"page": "x"}, {"page": "99999999999"}, {"q": "a" * 201}):
        response = await root.client.get("/admin/renewal/choices/loan", params=params)
        assert response.status_code == 400, params
    anonymous = await client.get("/admin/logout")  # any request; then signed out
    assert anonymous.status_code in (404, 405)

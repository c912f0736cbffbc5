"""The admin's edit form carries the version it was loaded with: a save over a newer one writes
nothing and comes back with what the other person changed, who and when, and a way to re-apply."""

import re

import httpx2

from backoffice import BackOffice
from backoffice.models import UserUpdate
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import Account, make_staff

_VERSION = re.compile(r'name="record_version" value="(\d+)"')


def form_version(html: str) -> int:
    found = _VERSION.search(html)
    assert found, "the edit form carries no version"
    return int(found.group(1))


async def bob_renames(office: BackOffice, bob: Account, user_id: int, **changes: object) -> None:
    async with office.session() as session:
        caller = Caller(user=bob.user, door="api")
        await office.users(session, caller).update(user_id, UserUpdate(**changes))


def fields(**values: str) -> dict[str, str]:
    base = {"email": "alice@example.com", "username": "alice", "full_name": "", "is_active": "y"}
    return {**base, **values}


async def test_a_save_over_a_newer_version_shows_their_change_and_can_be_reapplied(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    client: httpx2.AsyncClient = signed_in.client
    url = f"/admin/user/edit/{alice.id}"
    page = await client.get(url)
    assert form_version(page.text) == 1
    token = csrf_token(page.text)

    bob = await make_staff(office, "bob", is_superuser=True)
    await bob_renames(office, bob, alice.id, full_name="Alice Liddell", username="alicel")

    # Ann changed the email, from the form she loaded at version 1.
    mine = fields(email="ann@example.com")
    refused = await client.post(
        url, data={**mine, "record_version": "1", "csrf_token": token, "save": "Save"}
    )
    assert refused.status_code == 400
    html = refused.text
    assert 'id="stale-save"' in html
    assert "version 1" in html and "version 2" in html
    assert "bob (#" in html  # who, by account
    assert "Alice Liddell" in html and "alicel" in html  # their values
    assert form_version(html) == 2  # a re-apply names the version now current
    assert 'id="reapply"' in html
    # Fields Ann left alone now hold Bob's values; hers is kept.
    assert 'value="Alice Liddell"' in html and 'value="alicel"' in html
    assert 'value="ann@example.com"' in html
    async with office.session() as session:
        now = await office.users(session, Caller.operator("system")).get(alice.id)
        assert (now.email, now.full_name, now.username) == (
            "alice@example.com",
            "Alice Liddell",
            "alicel",
        )

    # Re-applied with the new version: her change lands on top of Bob's.
    merged = fields(email="ann@example.com", full_name="Alice Liddell", username="alicel")
    done = await client.post(
        url,
        data={**merged, "record_version": "2", "csrf_token": csrf_token(html), "save": "Save"},
    )
    assert done.status_code == 302, done.text
    async with office.session() as session:
        now = await office.users(session, Caller.operator("system")).get(alice.id)
        assert (now.email, now.full_name, now.username, now.version) == (
            "ann@example.com",
            "Alice Liddell",
            "alicel",
            3,
        )


async def test_a_field_both_changed_is_marked_a_conflict_and_keeps_the_typed_value(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    url = f"/admin/user/edit/{alice.id}"
    token = csrf_token((await signed_in.client.get(url)).text)
    bob = await make_staff(office, "bob", is_superuser=True)
    await bob_renames(office, bob, alice.id, full_name="Bob's pick")
    refused = await signed_in.client.post(
        url,
        data={
            **fields(full_name="Ann's pick"),
            "record_version": "1",
            "csrf_token": token,
            "save": "Save",
        },
    )
    assert refused.status_code == 400
    assert "stale-conflict" in refused.text
    assert 'value="Ann&#39;s pick"' in refused.text or 'value="Ann\'s pick"' in refused.text


async def test_a_form_without_a_version_still_saves(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    response = await signed_in.submit(f"/admin/user/edit/{alice.id}", fields(full_name="A"))
    assert response.status_code == 302, response.text


async def test_posts_and_generated_views_refuse_stale_saves_too(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    from backoffice.models import PostCreate, PostUpdate

    async with office.session() as session:
        posts = office.posts(session, Caller.operator("system"))
        post = await posts.create(PostCreate(title="t", body="b"), author_id=superuser.id)
    url = f"/admin/post/edit/{post.id}"
    token = csrf_token((await signed_in.client.get(url)).text)
    async with office.session() as session:
        await office.posts(session, Caller.operator("system")).update(
            post.id or 0, PostUpdate(title="theirs")
        )
    refused = await signed_in.client.post(
        url,
        data={"title": "t", "body": "mine", "record_version": "1", "csrf_token": token},
    )
    assert refused.status_code == 400 and 'id="stale-save"' in refused.text
    assert "system" in refused.text and "theirs" in refused.text

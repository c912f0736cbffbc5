"""Every object page users and posts have (details, edit, History) exists for groups and for a
host's registered resources too, and no link on those pages leads to a missing page."""

import re

import pytest
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.models import GroupCreate, PostCreate, UserAccess
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account

_HREF = re.compile(r'href="http://testserver(/admin/[^"#?]*)')
PAGES = ("details", "edit", "history")


@pytest.fixture
async def objects(office: BackOffice, superuser: Account, alice: Account) -> dict[str, int]:
    system = Caller.operator("system")
    async with office.session() as session:
        group = await office.groups(session, system).create_group(
            GroupCreate(name="Editors", permissions=["posts.view", "posts.change"])
        )
        post = await office.posts(session, system).create(
            PostCreate(title="Hello"), author_id=alice.id
        )
        await office.permissions(session, system).set_access(
            alice.id, UserAccess(groups=["Editors"], permissions=["users.view"])
        )
    assert post.id is not None
    return {"user": alice.id, "group": group.id, "post": post.id}


@pytest.mark.parametrize("identity", ["user", "group", "post"])
async def test_each_object_page_exists_and_links_only_to_pages_that_exist(
    signed_in: AdminBrowser, objects: dict[str, int], identity: str
) -> None:
    pk = objects[identity]
    for page in PAGES:
        response = await signed_in.client.get(f"/admin/{identity}/{page}/{pk}")
        assert response.status_code == 200, f"{page}: {response.status_code}"
        if page != "history":
            assert f"/admin/{identity}/history/{pk}" in response.text  # the History button
        for link in sorted(set(_HREF.findall(response.text))):
            if link.endswith(("/logout", ".css", ".js")) or "/_backoffice/" in link:
                continue
            answer = await signed_in.client.get(link)
            assert answer.status_code != 404, f"{identity} {page} links to {link}: 404"


async def test_a_host_resource_has_details_edit_and_history_pages(host_app: FastAPI) -> None:
    import httpx2

    from tests.conftest import make_user

    office: BackOffice = host_app.state.backoffice
    await make_user(office, "root", is_staff=True, is_superuser=True)
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = AdminBrowser(client)
        assert (await browser.login("root")).status_code == 302
        created = await browser.submit(
            "/admin/customer/create", {"name": "Acme", "email": "billing@acme.example"}
        )
        assert created.status_code == 302, created.text
        for page in PAGES:
            response = await client.get(f"/admin/customer/{page}/1")
            assert response.status_code == 200, f"{page}: {response.status_code}"

"""The post admin writes through PostService."""

import httpx2

from backoffice import BackOffice
from backoffice.models import Post
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account, bearer, in_trash


async def test_post_created_in_admin_is_authored_by_the_staff_user_and_seen_by_the_api(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, superuser: Account, alice: Account
) -> None:
    response = await signed_in.submit(
        "/admin/post/create", {"title": "Hello", "body": "From the admin", "published": "y"}
    )
    assert response.status_code == 302, form_error(response.text)
    listing = await client.get("/api/posts/", headers=await bearer(client, "alice"))
    (post,) = listing.json()["items"]
    assert post["title"] == "Hello" and post["author_id"] == superuser.id


async def test_empty_title_is_a_form_error(signed_in: AdminBrowser) -> None:
    response = await signed_in.submit("/admin/post/create", {"title": "", "body": "x"})
    assert response.status_code == 400
    assert "This field is required" in response.text


async def test_staff_edit_and_delete_someone_elses_post(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    created = await client.post(
        "/api/posts/", json={"title": "Draft", "body": "..."}, headers=await bearer(client, "alice")
    )
    post_id = created.json()["id"]
    response = await signed_in.submit(
        f"/admin/post/edit/{post_id}", {"title": "Edited", "body": "...", "published": "y"}
    )
    assert response.status_code == 302, form_error(response.text)
    async with office.session() as session:
        post = await session.get(Post, post_id)
        assert post is not None and post.title == "Edited" and post.published
    assert (await signed_in.delete("post", post_id)).status_code == 200
    assert await in_trash(office, Post, post_id)

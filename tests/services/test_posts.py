"""PostService: who sees drafts and who may change what, against a real database."""

import pytest
from conftest import Account, in_trash, make_user

from backoffice import BackOffice
from backoffice.errors import InvalidInput, NotFound, PermissionDenied
from backoffice.models import Post, PostCreate, PostUpdate
from backoffice.services import Caller

OPERATOR = Caller.operator("cli")


def as_user(account: Account) -> Caller:
    return Caller(user=account.user, door="api")


async def write(
    office: BackOffice, author: Account, title: str = "Hello", *, published: bool = False
) -> Post:
    async with office.session() as session:
        return await office.posts(session, as_user(author)).create(
            PostCreate(title=title, body="Some text.", published=published)
        )


async def load(office: BackOffice, post_id: int) -> Post | None:
    async with office.session() as session:
        post: Post | None = await session.get(Post, post_id)
    return post


async def titles_seen_by(office: BackOffice, caller: Caller, **options: object) -> list[str]:
    async with office.session() as session:
        page = await office.posts(session, caller).list(sort="title", **options)  # type: ignore[arg-type]
    return [post.title for post in page.items]


# -- creating --------------------------------------------------------------------------------


async def test_a_post_is_written_in_the_callers_name(office: BackOffice, alice: Account) -> None:
    post = await write(office, alice, "Mine")

    stored = await load(office, post.id or 0)
    assert stored is not None
    assert (stored.author_id, stored.title, stored.published) == (alice.id, "Mine", False)
    assert stored.created_at.tzinfo is not None


async def test_an_anonymous_caller_cannot_write_a_post(office: BackOffice) -> None:
    with pytest.raises(InvalidInput):
        async with office.session() as session:
            await office.posts(session, Caller.anonymous("api")).create(PostCreate(title="Nobody"))


async def test_a_user_cannot_write_in_someone_elses_name(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.posts(session, as_user(alice)).create(
                PostCreate(title="Forged"), author_id=bob.id
            )


async def test_an_admin_can_write_in_someone_elses_name(
    office: BackOffice, staff: Account, bob: Account
) -> None:
    async with office.session() as session:
        post = await office.posts(session, as_user(staff)).create(
            PostCreate(title="For Bob"), author_id=bob.id
        )
    assert post.author_id == bob.id


async def test_an_admin_cannot_write_in_the_name_of_a_missing_user(
    office: BackOffice, staff: Account
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.posts(session, as_user(staff)).create(
                PostCreate(title="Ghost"), author_id=424242
            )
    assert [e.field for e in caught.value.errors] == ["author_id"]


# -- reading ---------------------------------------------------------------------------------


async def test_a_draft_is_hidden_from_other_users_as_missing(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    draft = await write(office, alice, "Draft")

    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.posts(session, as_user(bob)).get(draft.id or 0)


async def test_a_draft_is_visible_to_its_author_and_admins(
    office: BackOffice, alice: Account, staff: Account, superuser: Account
) -> None:
    draft = await write(office, alice, "Draft")

    for reader in (alice, staff, superuser):
        async with office.session() as session:
            post = await office.posts(session, as_user(reader)).get(draft.id or 0)
        assert post.title == "Draft"


async def test_a_published_post_is_visible_to_everyone_signed_in(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    post = await write(office, alice, "Public", published=True)

    async with office.session() as session:
        seen = await office.posts(session, as_user(bob)).get(post.id or 0)
    assert seen.title == "Public"


async def test_a_missing_post_is_not_found(office: BackOffice, staff: Account) -> None:
    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.posts(session, as_user(staff)).get(424242)


async def test_the_list_shows_published_posts_and_only_ones_own_drafts(
    office: BackOffice, alice: Account, bob: Account, staff: Account
) -> None:
    await write(office, alice, "Alice draft")
    await write(office, alice, "Alice public", published=True)
    await write(office, bob, "Bob draft")

    assert await titles_seen_by(office, as_user(bob)) == ["Alice public", "Bob draft"]
    assert await titles_seen_by(office, as_user(alice)) == ["Alice draft", "Alice public"]
    assert await titles_seen_by(office, as_user(staff)) == [
        "Alice draft",
        "Alice public",
        "Bob draft",
    ]


async def test_the_list_counts_only_what_the_caller_may_see(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    for n in range(3):
        await write(office, alice, f"Draft {n}")
    await write(office, alice, "Public", published=True)

    async with office.session() as session:
        page = await office.posts(session, as_user(bob)).list()
    assert page.total == 1


async def test_the_list_filters_by_author_and_state(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    await write(office, alice, "Alice draft")
    await write(office, alice, "Alice public", published=True)
    await write(office, bob, "Bob public", published=True)

    assert await titles_seen_by(office, OPERATOR, author_id=alice.id) == [
        "Alice draft",
        "Alice public",
    ]
    assert await titles_seen_by(office, OPERATOR, published=False) == ["Alice draft"]
    assert await titles_seen_by(office, as_user(bob), author_id=alice.id) == ["Alice public"]


async def test_the_list_pages_and_sorts(office: BackOffice, alice: Account) -> None:
    for title in ["c", "a", "e", "b", "d"]:
        await write(office, alice, title)

    async with office.session() as session:
        posts = office.posts(session, as_user(alice))
        page = await posts.list(skip=1, limit=2, sort="title")
        backwards = await posts.list(sort="-title")

    assert [p.title for p in page.items] == ["b", "c"]
    assert (page.total, page.skip, page.limit) == (5, 1, 2)
    assert [p.title for p in backwards.items] == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize("sort", ["body", "author_id", "-published", "nonsense"])
async def test_the_list_refuses_an_unknown_sort_field(
    office: BackOffice, alice: Account, sort: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.posts(session, as_user(alice)).list(sort=sort)
    assert [e.field for e in caught.value.errors] == ["sort"]


@pytest.mark.parametrize(
    ("skip", "limit", "field"), [(0, 0, "limit"), (0, 101, "limit"), (-1, 10, "skip")]
)
async def test_the_list_refuses_out_of_bounds_pages(
    office: BackOffice, alice: Account, skip: int, limit: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.posts(session, as_user(alice)).list(skip=skip, limit=limit)
    assert [e.field for e in caught.value.errors] == [field]


async def test_search_matches_titles_case_insensitively_with_literal_wildcards(
    office: BackOffice, alice: Account
) -> None:
    for title in ["50% off", "500 reasons", "snake_case", "snakeXcase", "Back\\slash"]:
        await write(office, alice, title, published=True)

    assert await titles_seen_by(office, as_user(alice), search="50%") == ["50% off"]
    assert await titles_seen_by(office, as_user(alice), search="SNAKE_") == ["snake_case"]
    assert await titles_seen_by(office, as_user(alice), search="k\\s") == ["Back\\slash"]


# -- changing --------------------------------------------------------------------------------


async def test_the_author_can_change_their_post(office: BackOffice, alice: Account) -> None:
    post = await write(office, alice, "Before")

    async with office.session() as session:
        changed = await office.posts(session, as_user(alice)).update(
            post.id or 0, PostUpdate(title="After", published=True)
        )

    assert (changed.title, changed.published, changed.body) == ("After", True, "Some text.")
    assert changed.updated_at >= post.updated_at
    stored = await load(office, post.id or 0)
    assert stored is not None and stored.title == "After"


async def test_null_fields_in_an_update_are_ignored(office: BackOffice, alice: Account) -> None:
    post = await write(office, alice, "Keep")

    async with office.session() as session:
        changed = await office.posts(session, as_user(alice)).update(
            post.id or 0, PostUpdate(title=None, body=None, published=None)
        )
    assert (changed.title, changed.body, changed.published) == ("Keep", "Some text.", False)


async def test_another_user_cannot_change_a_published_post(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    post = await write(office, alice, "Alice's", published=True)

    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.posts(session, as_user(bob)).update(
                post.id or 0, PostUpdate(title="Bob's")
            )
    stored = await load(office, post.id or 0)
    assert stored is not None and stored.title == "Alice's"


async def test_another_user_changing_a_draft_finds_nothing(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    draft = await write(office, alice, "Secret")

    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.posts(session, as_user(bob)).update(draft.id or 0, PostUpdate(title="X"))


async def test_an_admin_can_change_anyones_post(
    office: BackOffice, alice: Account, staff: Account
) -> None:
    draft = await write(office, alice, "Draft")

    async with office.session() as session:
        changed = await office.posts(session, as_user(staff)).update(
            draft.id or 0, PostUpdate(published=True)
        )
    assert changed.published and changed.author_id == alice.id


async def test_a_former_staff_member_is_an_ordinary_user(
    office: BackOffice, alice: Account
) -> None:
    former = await make_user(office, "former", is_staff=True, is_active=False)
    post = await write(office, alice, "Public", published=True)

    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.posts(session, as_user(former)).update(post.id or 0, PostUpdate(title="X"))


# -- deleting --------------------------------------------------------------------------------


async def test_the_author_can_delete_their_post(office: BackOffice, alice: Account) -> None:
    post = await write(office, alice)

    async with office.session() as session:
        await office.posts(session, as_user(alice)).delete(post.id or 0)

    assert await in_trash(office, Post, post.id or 0)
    with pytest.raises(NotFound):  # no door reads it any more
        async with office.session() as session:
            await office.posts(session, as_user(alice)).get(post.id or 0)


async def test_another_user_cannot_delete_a_published_post(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    post = await write(office, alice, published=True)

    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.posts(session, as_user(bob)).delete(post.id or 0)
    assert await load(office, post.id or 0) is not None


async def test_another_user_deleting_a_draft_finds_nothing(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    draft = await write(office, alice)

    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.posts(session, as_user(bob)).delete(draft.id or 0)
    assert await load(office, draft.id or 0) is not None


async def test_an_admin_can_delete_anyones_post(
    office: BackOffice, alice: Account, staff: Account
) -> None:
    post = await write(office, alice)

    async with office.session() as session:
        await office.posts(session, as_user(staff)).delete(post.id or 0)

    assert await in_trash(office, Post, post.id or 0)
    async with office.session() as session:
        assert (await office.posts(session, as_user(staff)).list()).items == []

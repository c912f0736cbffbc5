"""UserService: the rules about accounts, checked against a real database with real hashing."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from conftest import DEFAULT_PASSWORD, Account, in_trash, make_user, purge
from passlib.context import CryptContext
from sqlalchemy import event, func
from sqlmodel import select

from backoffice import BackOffice
from backoffice.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from backoffice.models import Post, User, UserAdminCreate, UserCreate, UserUpdate, UserUpdateMe
from backoffice.services import Caller
from backoffice.services.users import BAD_CREDENTIALS, LAST_SUPERUSER

ANONYMOUS = Caller.anonymous("api")
OPERATOR = Caller.operator("cli")


def as_user(account: Account) -> Caller:
    return Caller(user=account.user, door="api")


def legacy_bcrypt(password: str) -> str:
    return str(CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(password))


async def load(office: BackOffice, user_id: int) -> User | None:
    async with office.session() as session:
        user: User | None = await session.get(User, user_id)
    return user


async def store_hash(office: BackOffice, user_id: int, hashed: str) -> None:
    async with office.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.hashed_password = hashed
        session.add(user)


async def register(office: BackOffice, **fields: str) -> User:
    data = UserCreate(
        **{"email": "new@example.com", "username": "newbie", "password": DEFAULT_PASSWORD, **fields}
    )
    async with office.session() as session:
        return await office.users(session, ANONYMOUS).create(data)


# -- registration and creation ---------------------------------------------------------------


async def test_registration_creates_an_active_account_without_rights(office: BackOffice) -> None:
    user = await register(office)

    stored = await load(office, user.id or 0)
    assert stored is not None
    assert (stored.is_active, stored.is_staff, stored.is_superuser) == (True, False, False)
    assert stored.hashed_password.startswith("$argon2id$")
    assert DEFAULT_PASSWORD not in stored.hashed_password


async def test_registration_normalises_email_and_username(office: BackOffice) -> None:
    user = await register(office, email="  New.Person@Example.COM ", username=" NewPerson ")

    assert user.email == "new.person@example.com"
    assert user.username == "newperson"


async def test_registration_with_a_taken_email_is_a_conflict(
    office: BackOffice, alice: Account
) -> None:
    with pytest.raises(Conflict) as caught:
        await register(office, email="ALICE@example.com")
    assert caught.value.field == "email"


async def test_registration_with_a_taken_username_in_other_case_is_a_conflict(
    office: BackOffice, alice: Account
) -> None:
    with pytest.raises(Conflict) as caught:
        await register(office, username="ALICE")
    assert caught.value.field == "username"


@pytest.mark.parametrize(
    ("password", "broken_rule"),
    [
        ("Short1A", "at least 8 characters"),
        ("NoDigitsHere", "digit"),
        ("no-upper-case-1", "upper-case"),
        ("A1" + "x" * 127, "at most 128 characters"),
    ],
)
async def test_password_policy_is_enforced_on_registration(
    office: BackOffice, password: str, broken_rule: str
) -> None:
    # model_construct skips the schema bounds, so the service's own rule is what refuses.
    data = UserCreate.model_construct(
        email="new@example.com", username="newbie", full_name=None, password=password
    )
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.users(session, ANONYMOUS).create(data)

    messages = [error.message for error in caught.value.errors]
    assert {error.field for error in caught.value.errors} == {"password"}
    assert any(broken_rule in message for message in messages), messages
    assert all(password not in message for message in messages)
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_password_policy_lists_every_broken_rule(office: BackOffice) -> None:
    data = UserCreate.model_construct(
        email="new@example.com", username="newbie", full_name=None, password="short"
    )
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.users(session, ANONYMOUS).create(data)
    messages = " ".join(error.message for error in caught.value.errors)
    for rule in ("at least 8 characters", "digit", "upper-case"):
        assert rule in messages


async def test_anonymous_caller_cannot_create_an_account_with_flags(office: BackOffice) -> None:
    data = UserAdminCreate(
        email="sneaky@example.com", username="sneaky", password=DEFAULT_PASSWORD, is_staff=True
    )
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, ANONYMOUS).create(data)


async def test_staff_cannot_create_a_superuser(office: BackOffice, staff: Account) -> None:
    data = UserAdminCreate(
        email="boss@example.com", username="boss", password=DEFAULT_PASSWORD, is_superuser=True
    )
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).create(data)


async def test_staff_can_create_an_inactive_ordinary_account(
    office: BackOffice, staff: Account
) -> None:
    data = UserAdminCreate(
        email="later@example.com", username="later", password=DEFAULT_PASSWORD, is_active=False
    )
    async with office.session() as session:
        user = await office.users(session, as_user(staff)).create(data)
    assert (user.is_active, user.is_staff, user.is_superuser) == (False, False, False)


async def test_superuser_can_create_a_superuser(office: BackOffice, superuser: Account) -> None:
    data = UserAdminCreate(
        email="boss@example.com",
        username="boss",
        password=DEFAULT_PASSWORD,
        is_staff=True,
        is_superuser=True,
    )
    async with office.session() as session:
        user = await office.users(session, as_user(superuser)).create(data)
    assert user.is_superuser and user.is_staff


async def test_nobody_takes_a_name_the_audit_log_uses_not_even_the_operator(
    office: BackOffice,
) -> None:
    for name in ("operator", "system", "anonymous"):
        data = UserAdminCreate(
            email=f"{name}@example.com", username=name, password=DEFAULT_PASSWORD
        )
        with pytest.raises(InvalidInput) as caught:
            async with office.session() as session:
                await office.users(session, OPERATOR).create(data)
        assert [e.field for e in caught.value.errors] == ["username"]
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_an_account_keeps_a_reserved_name_it_already_had(office: BackOffice) -> None:
    """Names taken before the rule existed stay usable: only a new name is checked."""
    legacy = await make_user(office, "legacy")
    async with office.session() as session:
        user = await session.get(User, legacy.id)
        assert user is not None
        user.username = "system"
        session.add(user)
    async with office.session() as session:
        user = await office.users(session, OPERATOR).update(
            legacy.id, UserUpdate(username="System", full_name="Kept")
        )
    assert (user.username, user.full_name) == ("system", "Kept")


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", " Alice@Example.com "])
async def test_authenticate_accepts_email_or_username_in_any_case(
    office: BackOffice, alice: Account, login: str
) -> None:
    async with office.session() as session:
        user = await office.users(session, ANONYMOUS).authenticate(login, alice.password)
    assert user.id == alice.id


async def test_authenticate_gives_one_answer_for_unknown_user_wrong_password_and_inactive(
    office: BackOffice, alice: Account
) -> None:
    await make_user(office, "sleepy", is_active=False)
    attempts = [
        ("nobody", DEFAULT_PASSWORD),
        ("alice", "Wr0ngPassword"),
        ("sleepy", DEFAULT_PASSWORD),
    ]
    details = []
    for login, password in attempts:
        with pytest.raises(AuthenticationFailed) as caught:
            async with office.session() as session:
                await office.users(session, ANONYMOUS).authenticate(login, password)
        details.append(caught.value.detail)
    assert details == [BAD_CREDENTIALS] * 3


async def test_authenticate_records_last_login_without_touching_updated_at(
    office: BackOffice, alice: Account
) -> None:
    before = await load(office, alice.id)
    assert before is not None and before.last_login is None

    async with office.session() as session:
        await office.users(session, ANONYMOUS).authenticate("alice", alice.password)

    after = await load(office, alice.id)
    assert after is not None
    assert after.last_login is not None
    assert after.updated_at == before.updated_at


async def test_bcrypt_hash_verifies_and_is_upgraded_to_argon2(
    office: BackOffice, alice: Account
) -> None:
    await store_hash(office, alice.id, legacy_bcrypt(alice.password))

    async with office.session() as session:
        await office.users(session, ANONYMOUS).authenticate("alice", alice.password)

    stored = await load(office, alice.id)
    assert stored is not None
    assert office.hasher.identify(stored.hashed_password) == "argon2"
    async with office.session() as session:
        user = await office.users(session, ANONYMOUS).authenticate("alice", alice.password)
    assert user.id == alice.id


async def test_wrong_password_against_a_bcrypt_hash_keeps_the_hash(
    office: BackOffice, alice: Account
) -> None:
    legacy = legacy_bcrypt(alice.password)
    await store_hash(office, alice.id, legacy)

    with pytest.raises(AuthenticationFailed):
        async with office.session() as session:
            await office.users(session, ANONYMOUS).authenticate("alice", "Wr0ngPassword")

    stored = await load(office, alice.id)
    assert stored is not None and stored.hashed_password == legacy


async def test_bcrypt_user_with_a_password_over_72_bytes_can_still_sign_in(
    office: BackOffice, alice: Account
) -> None:
    # Legacy bcrypt only ever saw the first 72 bytes; verifying must not crash on longer input,
    # and the argon2 hash that replaces it must accept the whole password afterwards.
    long_password = "L0ng" + "x" * 100
    await store_hash(office, alice.id, legacy_bcrypt(long_password[:72]))

    async with office.session() as session:
        await office.users(session, ANONYMOUS).authenticate("alice", long_password)
    async with office.session() as session:
        user = await office.users(session, ANONYMOUS).authenticate("alice", long_password)

    assert user.id == alice.id
    assert office.hasher.identify(user.hashed_password) == "argon2"


async def test_login_containing_a_nul_character_is_just_bad_credentials(
    office: BackOffice, alice: Account
) -> None:
    with pytest.raises(AuthenticationFailed):
        async with office.session() as session:
            await office.users(session, ANONYMOUS).authenticate("alice\x00", alice.password)


# -- reading ---------------------------------------------------------------------------------


async def test_user_can_read_their_own_account(office: BackOffice, alice: Account) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(alice)).get(alice.id)
    assert user.username == "alice"


async def test_user_cannot_read_another_account(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).get(bob.id)


async def test_staff_can_read_any_account(office: BackOffice, staff: Account, bob: Account) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(staff)).get(bob.id)
    assert user.username == "bob"


async def test_reading_a_missing_account_is_not_found_for_an_admin(
    office: BackOffice, staff: Account
) -> None:
    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.users(session, as_user(staff)).get(424242)


async def test_inactive_staff_is_not_an_admin(office: BackOffice, bob: Account) -> None:
    former = await make_user(office, "former", is_staff=True, is_active=False)
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(former)).get(bob.id)


async def test_listing_users_takes_an_admin(office: BackOffice, alice: Account) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).list()


async def test_listing_users_pages_and_counts(office: BackOffice) -> None:
    for name in ["erin", "carol", "dave", "alan", "bert"]:
        await make_user(office, name)
    async with office.session() as session:
        page = await office.users(session, OPERATOR).list(skip=1, limit=2, sort="username")
    assert [u.username for u in page.items] == ["bert", "carol"]
    assert (page.total, page.skip, page.limit) == (5, 1, 2)


async def test_a_long_list_counts_up_to_a_bound_past_the_page(office: BackOffice) -> None:
    """The count stops at skip + limit + count_cap matches: beyond that, total is the bound
    and says so; up to it, total is exact (the bound itself included)."""
    for name in ["erin", "carol", "dave", "alan", "bert", "fred"]:
        await make_user(office, name)
    async with office.session() as session:
        users = office.users(session, OPERATOR)
        users.count_cap = 2
        capped = await users.list(skip=1, limit=2, sort="username")  # bound 5, 6 match
        at_the_bound = await users.list(skip=2, limit=2, sort="username")  # bound 6, 6 match
        narrowed = await users.list(skip=1, limit=1, search="r")  # bound 4, 4 match
    assert [u.username for u in capped.items] == ["bert", "carol"]
    assert (capped.total, capped.total_is_exact) == (5, False)
    assert [u.username for u in at_the_bound.items] == ["carol", "dave"]
    assert (at_the_bound.total, at_the_bound.total_is_exact) == (6, True)
    assert (narrowed.total, narrowed.total_is_exact) == (4, True)


async def test_a_short_list_counts_exactly(office: BackOffice) -> None:
    for name in ["erin", "carol", "dave"]:
        await make_user(office, name)
    async with office.session() as session:
        page = await office.users(session, OPERATOR).list(skip=10, limit=1)
    assert page.items == []
    assert (page.total, page.total_is_exact) == (3, True)


@pytest.mark.parametrize(
    ("skip", "limit", "search", "total", "counted"),
    [
        (0, 50, "carol", 1, False),  # one match: the page says it all
        (1, 50, None, 4, False),  # a short page after the first
        (0, 50, "nobody", 0, False),  # the first page, empty: nothing matches
        (0, 2, None, 4, True),  # a full page: there may be more
        (10, 2, None, 4, True),  # past the end: the page cannot say how many
    ],
)
async def test_a_short_page_needs_no_count(
    office: BackOffice,
    skip: int,
    limit: int,
    search: str | None,
    total: int,
    counted: bool,
) -> None:
    for name in ["erin", "carol", "dave", "alan"]:
        await make_user(office, name)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(office.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with office.session() as session:
            page = await office.users(session, OPERATOR).list(skip=skip, limit=limit, search=search)
    finally:
        event.remove(office.engine.sync_engine, "before_cursor_execute", record)
    assert (page.total, page.total_is_exact) == (total, True)
    assert any("count(" in s.lower() for s in statements) is counted


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "last_login", "-last_login"])
async def test_listing_users_sorts_by_dates_with_the_id_breaking_ties(
    office: BackOffice, sort: str
) -> None:
    accounts = [await make_user(office, name) for name in ["erin", "carol", "dave"]]
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    async with office.session() as session:
        for account, days in zip(accounts, [1, 0, 0], strict=True):
            user = await session.get(User, account.id)
            assert user is not None
            user.created_at = user.last_login = moment + timedelta(days=days)
    async with office.session() as session:
        page = await office.users(session, OPERATOR).list(sort=sort)
    expected = ["carol", "dave", "erin"]  # carol and dave tie: the older id first
    if sort.startswith("-"):
        expected.reverse()
    assert [u.username for u in page.items] == expected


async def test_listing_users_sorts_descending_with_a_minus(office: BackOffice) -> None:
    for name in ["erin", "carol", "dave"]:
        await make_user(office, name)
    async with office.session() as session:
        page = await office.users(session, OPERATOR).list(sort="-username")
    assert [u.username for u in page.items] == ["erin", "dave", "carol"]


@pytest.mark.parametrize("sort", ["password", "hashed_password", "-is_superuser", "-"])
async def test_listing_users_refuses_an_unknown_sort_field(office: BackOffice, sort: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.users(session, OPERATOR).list(sort=sort)
    assert [e.field for e in caught.value.errors] == ["sort"]


async def test_listing_users_sorts_by_id_by_default(office: BackOffice) -> None:
    for name in ["erin", "carol", "dave"]:
        await make_user(office, name)
    async with office.session() as session:
        page = await office.users(session, OPERATOR).list(sort="")
    assert [u.username for u in page.items] == ["erin", "carol", "dave"]


@pytest.mark.parametrize(
    ("skip", "limit", "field"), [(0, 0, "limit"), (0, 101, "limit"), (-1, 10, "skip")]
)
async def test_listing_users_refuses_out_of_bounds_pages(
    office: BackOffice, skip: int, limit: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.users(session, OPERATOR).list(skip=skip, limit=limit)
    assert [e.field for e in caught.value.errors] == [field]


async def test_search_takes_percent_and_underscore_literally(office: BackOffice) -> None:
    await make_user(office, "under1", email="under_score@example.com")
    await make_user(office, "under2", email="underxscore@example.com")
    percent = await make_user(office, "percent1")
    plain = await make_user(office, "percent2")
    async with office.session() as session:
        for account, full_name in ((percent, "100% Sure"), (plain, "1000 Sure")):
            user = await session.get(User, account.id)
            assert user is not None
            user.full_name = full_name

    async with office.session() as session:
        users = office.users(session, OPERATOR)
        underscore = await users.list(search="under_s")
        percent_sign = await users.list(search="100%")
        backslash = await users.list(search="\\")
        case = await users.list(search="100% SURE")

    assert [u.username for u in underscore.items] == ["under1"]
    assert [u.username for u in percent_sign.items] == ["percent1"]
    assert backslash.total == 0
    assert [u.username for u in case.items] == ["percent1"]


async def test_listing_users_filters_by_flags(
    office: BackOffice, superuser: Account, staff: Account, alice: Account
) -> None:
    async with office.session() as session:
        users = office.users(session, OPERATOR)
        admins = await users.list(is_staff=True, sort="username")
        supers = await users.list(is_superuser=True)
        ordinary = await users.list(is_staff=False, is_superuser=False)
    assert [u.username for u in admins.items] == ["root", "staffer"]
    assert [u.username for u in supers.items] == ["root"]
    assert [u.username for u in ordinary.items] == ["alice"]


# -- updating --------------------------------------------------------------------------------


async def test_user_can_change_their_own_profile(office: BackOffice, alice: Account) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(alice)).update(
            alice.id,
            UserUpdateMe(
                email="Alice2@Example.com", full_name="Alice A.", current_password=alice.password
            ),
        )
    assert (user.email, user.full_name, user.username) == (
        "alice2@example.com",
        "Alice A.",
        "alice",
    )


async def test_changing_ones_own_email_needs_the_current_password(
    office: BackOffice, alice: Account
) -> None:
    for given in (None, "", "Wr0ng-password"):
        with pytest.raises(InvalidInput) as caught:
            async with office.session() as session:
                await office.users(session, as_user(alice)).update(
                    alice.id, UserUpdateMe(email="new@example.com", current_password=given)
                )
        assert [e.field for e in caught.value.errors] == ["current_password"]
    stored = await load(office, alice.id)
    assert stored is not None and stored.email == "alice@example.com"


async def test_an_email_change_leaves_a_notice_to_the_old_address_in_the_outbox(
    office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        users = office.users(session, OPERATOR)  # nobody's password needed
        await users.update(
            alice.id, UserUpdate(full_name="Same address", email="alice@example.com")
        )
        assert users.outbox == []
        await users.update(alice.id, UserUpdate(email="moved@example.com"))
    (notice,) = users.outbox
    assert notice.to == "alice@example.com"
    assert "alice@example.com" in notice.text and "moved@example.com" not in notice.text


async def test_user_cannot_take_a_username_that_exists(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(Conflict) as caught:
        async with office.session() as session:
            await office.users(session, as_user(alice)).update(
                alice.id, UserUpdateMe(username="Bob")
            )
    assert caught.value.field == "username"


async def test_keeping_ones_own_email_is_not_a_conflict(office: BackOffice, alice: Account) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(alice)).update(
            alice.id, UserUpdateMe(email="alice@example.com")
        )
    assert user.email == "alice@example.com"


async def test_null_email_and_username_leave_them_unchanged(
    office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(alice)).update(
            alice.id, UserUpdateMe(email=None, username=None)
        )
    assert (user.email, user.username) == ("alice@example.com", "alice")


async def test_user_cannot_change_another_account(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).update(bob.id, UserUpdateMe(full_name="X"))


async def test_user_cannot_set_flags_on_themselves(office: BackOffice, alice: Account) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).update(alice.id, UserUpdate(is_staff=True))
    stored = await load(office, alice.id)
    assert stored is not None and not stored.is_staff


async def test_staff_can_deactivate_an_ordinary_account(
    office: BackOffice, staff: Account, bob: Account
) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(staff)).update(
            bob.id, UserUpdate(is_active=False)
        )
    assert user.is_active is False


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
async def test_staff_cannot_grant_staff_or_superuser(
    office: BackOffice, staff: Account, bob: Account, flag: str
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).update(
                bob.id, UserUpdate.model_validate({flag: True})
            )
    stored = await load(office, bob.id)
    assert stored is not None and not getattr(stored, flag)


async def test_staff_cannot_revoke_another_staff_member(office: BackOffice, staff: Account) -> None:
    other = await make_user(office, "otherstaff", is_staff=True)
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).update(other.id, UserUpdate(is_staff=False))


async def test_staff_cannot_touch_a_superuser_account(
    office: BackOffice, staff: Account, superuser: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).update(
                superuser.id, UserUpdate(full_name="Hijacked")
            )
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).set_password(superuser.id, "N3wPassword")
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(staff)).delete(superuser.id)
    stored = await load(office, superuser.id)
    assert stored is not None and stored.full_name is None


async def test_superuser_can_grant_staff_and_superuser(
    office: BackOffice, superuser: Account, bob: Account
) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(superuser)).update(
            bob.id, UserUpdate(is_staff=True, is_superuser=True)
        )
    assert user.is_staff and user.is_superuser and user.is_admin


async def test_null_flags_leave_the_flags_unchanged(
    office: BackOffice, superuser: Account, bob: Account
) -> None:
    async with office.session() as session:
        user = await office.users(session, as_user(superuser)).update(
            bob.id, UserUpdate(is_active=None, is_staff=None, is_superuser=None, full_name="Bob")
        )
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
    assert user.full_name == "Bob"


async def test_updating_a_missing_user_is_not_found(office: BackOffice, staff: Account) -> None:
    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.users(session, as_user(staff)).update(424242, UserUpdate(full_name="X"))


# -- passwords -------------------------------------------------------------------------------


async def test_change_password_requires_the_current_password(
    office: BackOffice, alice: Account
) -> None:
    with pytest.raises(InvalidInput) as refused:
        async with office.session() as session:
            await office.users(session, as_user(alice)).change_password(
                alice.id, "Wr0ngPassword", "N3wPassword"
            )
    assert refused.value.errors[0].field == "current_password"
    async with office.session() as session:
        await office.users(session, ANONYMOUS).authenticate("alice", alice.password)


async def test_change_password_applies_the_policy_to_the_new_password(
    office: BackOffice, alice: Account
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with office.session() as session:
            await office.users(session, as_user(alice)).change_password(
                alice.id, alice.password, "alllowercase1"
            )
    assert [e.field for e in caught.value.errors] == ["new_password"]


async def test_changed_password_replaces_the_old_one(office: BackOffice, alice: Account) -> None:
    async with office.session() as session:
        await office.users(session, as_user(alice)).change_password(
            alice.id, alice.password, "N3wPassword"
        )
    async with office.session() as session:
        users = office.users(session, ANONYMOUS)
        await users.authenticate("alice", "N3wPassword")
        with pytest.raises(AuthenticationFailed):
            await users.authenticate("alice", alice.password)


async def test_nobody_changes_another_users_password_this_way(
    office: BackOffice, superuser: Account, alice: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(superuser)).change_password(
                alice.id, alice.password, "N3wPassword"
            )


async def test_admin_can_set_a_password_without_the_old_one(
    office: BackOffice, staff: Account, alice: Account
) -> None:
    async with office.session() as session:
        await office.users(session, as_user(staff)).set_password(alice.id, "Res3tPassword")
    async with office.session() as session:
        await office.users(session, ANONYMOUS).authenticate("alice", "Res3tPassword")


async def test_user_cannot_set_another_users_password(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).set_password(bob.id, "Res3tPassword")


# -- deleting --------------------------------------------------------------------------------


async def test_deleting_a_user_deletes_their_posts(
    office: BackOffice, staff: Account, bob: Account
) -> None:
    async with office.session() as session:
        session.add(Post(title="Bob's", author_id=bob.id))

    async with office.session() as session:
        await office.users(session, as_user(staff)).delete(bob.id)

    assert await in_trash(office, User, bob.id)
    await purge(office, "users", bob.id)  # in the trash the posts stay; purged, they go
    assert await load(office, bob.id) is None
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 0


async def test_user_cannot_delete_another_account(
    office: BackOffice, alice: Account, bob: Account
) -> None:
    with pytest.raises(PermissionDenied):
        async with office.session() as session:
            await office.users(session, as_user(alice)).delete(bob.id)


async def test_deleting_a_missing_user_is_not_found(office: BackOffice) -> None:
    with pytest.raises(NotFound):
        async with office.session() as session:
            await office.users(session, OPERATOR).delete(424242)


# -- the last superuser ----------------------------------------------------------------------


async def test_last_superuser_cannot_be_deleted(office: BackOffice, superuser: Account) -> None:
    with pytest.raises(Conflict) as caught:
        async with office.session() as session:
            await office.users(session, OPERATOR).delete(superuser.id)
    assert caught.value.detail == LAST_SUPERUSER
    assert await load(office, superuser.id) is not None


async def test_last_superuser_cannot_delete_themselves(
    office: BackOffice, superuser: Account
) -> None:
    with pytest.raises(Conflict):
        async with office.session() as session:
            await office.users(session, as_user(superuser)).delete(superuser.id)


async def test_last_superuser_cannot_be_deactivated(office: BackOffice, superuser: Account) -> None:
    with pytest.raises(Conflict):
        async with office.session() as session:
            await office.users(session, OPERATOR).update(superuser.id, UserUpdate(is_active=False))
    stored = await load(office, superuser.id)
    assert stored is not None and stored.is_active


async def test_last_superuser_cannot_be_demoted(office: BackOffice, superuser: Account) -> None:
    with pytest.raises(Conflict):
        async with office.session() as session:
            await office.users(session, as_user(superuser)).update(
                superuser.id, UserUpdate(is_superuser=False)
            )
    stored = await load(office, superuser.id)
    assert stored is not None and stored.is_superuser


async def test_an_inactive_superuser_does_not_count_as_the_remaining_one(
    office: BackOffice, superuser: Account
) -> None:
    await make_user(office, "dormant", is_superuser=True, is_active=False)
    with pytest.raises(Conflict):
        async with office.session() as session:
            await office.users(session, OPERATOR).update(
                superuser.id, UserUpdate(is_superuser=False)
            )


async def test_with_two_superusers_one_can_be_demoted(
    office: BackOffice, superuser: Account
) -> None:
    second = await make_user(office, "root2", is_staff=True, is_superuser=True)
    async with office.session() as session:
        user = await office.users(session, as_user(superuser)).update(
            second.id, UserUpdate(is_superuser=False)
        )
    assert not user.is_superuser
    async with office.session() as session:
        assert await office.users(session, OPERATOR).count_superusers() == 1


async def test_with_two_superusers_one_can_be_deleted(
    office: BackOffice, superuser: Account
) -> None:
    second = await make_user(office, "root2", is_superuser=True)
    async with office.session() as session:
        await office.users(session, as_user(second)).delete(superuser.id)
    assert await in_trash(office, User, superuser.id)


async def test_an_inactive_superuser_can_be_deleted(office: BackOffice, superuser: Account) -> None:
    dormant = await make_user(office, "dormant", is_superuser=True, is_active=False)
    async with office.session() as session:
        await office.users(session, as_user(superuser)).delete(dormant.id)
    assert await in_trash(office, User, dormant.id)


REMOVALS = {
    "demote": UserUpdate(is_superuser=False),
    "deactivate": UserUpdate(is_active=False),
    "delete": None,
}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("demote", "demote"),
        ("deactivate", "demote"),
        ("delete", "deactivate"),
        ("delete", "delete"),
    ],
)
async def test_concurrent_removals_of_the_last_two_superusers_leave_one(
    office: BackOffice, superuser: Account, first: str, second: str
) -> None:
    other = await make_user(office, "root2", is_staff=True, is_superuser=True)

    async def remove(user_id: int, how: str) -> str:
        try:
            async with office.session() as session:
                users = office.users(session, OPERATOR)
                change = REMOVALS[how]
                if change is None:
                    await users.delete(user_id)
                else:
                    await users.update(user_id, change)
        except Conflict:
            return "refused"
        return "done"

    outcomes = await asyncio.gather(remove(superuser.id, first), remove(other.id, second))

    assert sorted(outcomes) == ["done", "refused"]
    async with office.session() as session:
        assert await office.users(session, OPERATOR).count_superusers() == 1

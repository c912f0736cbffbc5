"""One permission set, two doors: for every kind of user, operation and resource, the API (bearer
token) and the admin (session, CSRF-protected forms) both allow it or both refuse it.

An allowed operation answers 2xx (the admin: its page, or a redirect after saving) and the
database changed; a refused one answers 403 (the admin: 403 or back to the login page; an
account that cannot sign in: 401 from the API) and the database is unchanged.

The object acted on always belongs to someone else: a user account, a post by another author
(a draft for viewing, since published posts are public; published for changing and deleting, so
only the permission under test decides), an invoice of the host app.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import Post, PostCreate, User, UserAccess
from backoffice.services import Caller
from examples.invoicing.models import Invoice
from tests.conftest import Account, make_user
from tests.permissions.conftest import HOLDERS, KINDS, Admin, Api, make_actor, new_client

NEW_PASSWORD = "A-Fresh-Passw0rd-42"
CHANGED = "Changed by the actor"


@dataclass
class Target:
    """Someone else's object, made afresh for each door."""

    pk: int
    marker: str
    """Text that shows the object on a list or details page."""
    form: dict[str, str]
    """The object's edit form, with the change the operation makes."""
    related: int = 0
    """A row a new object may point to (the invoice's customer)."""


@dataclass
class Subject:
    """How to reach one resource through both doors."""

    resource: str
    identity: str
    """The admin's name for the view (``/admin/{identity}/...``)."""
    api_path: str | None
    make_target: Callable[[BackOffice, str, str], Awaitable[Target]]
    """(office, operation, door) -> a fresh object someone else owns."""
    new_json: Callable[[str, Target], dict[str, Any]]
    new_form: Callable[[str, Target], dict[str, str]]
    find_new: Callable[[BackOffice, str], Awaitable[bool]]
    change_json: dict[str, Any]
    changed: Callable[[BackOffice, int], Awaitable[bool]]
    model: type


async def get(office: BackOffice, model: type, pk: int) -> Any:
    async with office.session() as session:
        return await session.get(model, pk)


async def deleted(office: BackOffice, model: type, pk: int) -> bool:
    """Gone, or in the trash (users and posts): no door reads it any more."""
    row = await get(office, model, pk)
    return row is None or getattr(row, "deleted_at", None) is not None


async def exists(office: BackOffice, column: Any, value: str) -> bool:
    async with office.session() as session:
        return (await session.exec(select(column).where(column == value))).first() is not None


# -- users ----------------------------------------------------------------------------------------


async def user_target(office: BackOffice, operation: str, door: str) -> Target:
    account = await make_user(office, f"target{door}")
    user = account.user
    form = {"email": user.email, "username": user.username, "full_name": CHANGED, "is_active": "y"}
    return Target(account.id, user.email, form)


async def user_changed(office: BackOffice, pk: int) -> bool:
    return bool((await get(office, User, pk)).full_name == CHANGED)


USERS = Subject(
    resource="users",
    identity="user",
    # POST /api/users/ is public registration of an ordinary account (it cannot set flags, see
    # tests/api/test_users.py): the API has no permission-governed "add a user" to compare.
    api_path="/api/users/",
    make_target=user_target,
    new_json=lambda door, target: {},
    new_form=lambda door, target: {
        "email": f"new{door}@example.com",
        "username": f"new{door}",
        "password": NEW_PASSWORD,
        "is_active": "y",
    },
    find_new=lambda office, door: exists(office, col(User.username), f"new{door}"),
    change_json={"full_name": CHANGED},
    changed=user_changed,
    model=User,
)

# -- posts ----------------------------------------------------------------------------------------


async def post_target(office: BackOffice, operation: str, door: str) -> Target:
    writer = await make_user(office, f"writer{door}")
    title = f"Post by writer {door}"
    draft = operation == "view"
    async with office.session() as session:
        post = await office.posts(session, Caller.operator("system")).create(
            PostCreate(title=title, body="Someone else's words.", published=not draft),
            author_id=writer.id,
        )
    assert post.id is not None
    form = {"title": CHANGED, "body": "Someone else's words.", "published": "y"}
    return Target(post.id, title, form)


async def post_changed(office: BackOffice, pk: int) -> bool:
    return bool((await get(office, Post, pk)).title == CHANGED)


POSTS = Subject(
    resource="posts",
    identity="post",
    api_path="/api/posts/",
    make_target=post_target,
    new_json=lambda door, target: {"title": f"New post {door}", "body": "Mine."},
    new_form=lambda door, target: {"title": f"New post {door}", "body": "Mine."},
    find_new=lambda office, door: exists(office, col(Post.title), f"New post {door}"),
    change_json={"title": CHANGED},
    changed=post_changed,
    model=Post,
)

# -- invoices (the host app's) --------------------------------------------------------------------


async def invoice_target(office: BackOffice, operation: str, door: str) -> Target:
    async with office.session() as session:
        system = Caller.operator("system")
        customer = await office.service("customers", session, system).create(
            {"name": f"Customer {door}"}
        )
        invoice = await office.service("invoices", session, system).create(
            {"number": f"INV-{door}", "customer_id": customer.id, "amount_cents": 1000}
        )
    form = {
        "number": invoice.number,
        "customer": str(customer.id),
        "amount_cents": "4321",
        "status": "draft",
    }
    return Target(invoice.id, invoice.number, form, related=customer.id)


async def invoice_changed(office: BackOffice, pk: int) -> bool:
    return bool((await get(office, Invoice, pk)).amount_cents == 4321)


INVOICES = Subject(
    resource="invoices",
    identity="invoice",
    api_path="/api/invoices/",
    make_target=invoice_target,
    new_json=lambda door, target: {
        "number": f"NEW-{door}",
        "customer_id": target.related,
        "amount_cents": 500,
    },
    new_form=lambda door, target: {
        "number": f"NEW-{door}",
        "customer": str(target.related),
        "amount_cents": "500",
        "status": "draft",
    },
    find_new=lambda office, door: exists(office, col(Invoice.number), f"NEW-{door}"),
    change_json={"amount_cents": 4321},
    changed=invoice_changed,
    model=Invoice,
)

SUBJECTS = {s.resource: s for s in (USERS, POSTS, INVOICES)}
OPERATIONS = ("view", "add", "change", "delete")

# -- one operation through one door ---------------------------------------------------------------


async def through_api(subject: Subject, operation: str, api: Api, office: BackOffice) -> bool:
    """Do it through the API; True if allowed, False if refused (anything else fails)."""
    target = await subject.make_target(office, operation, "api")
    assert subject.api_path is not None
    item = f"{subject.api_path}{target.pk}"
    if operation == "view":
        listing = await api.request("GET", subject.api_path, params={"limit": 100})
        one = await api.request("GET", item)
        if subject is POSTS and api.signed_in:
            # Published posts are everyone's; someone else's draft is hidden, not forbidden.
            assert listing.status_code == 200, listing.text
            listed = target.pk in [p["id"] for p in listing.json()["items"]]
            assert listed == (one.status_code == 200), (listing.text, one.text)
            if not listed:
                assert one.status_code == 404, one.text
            return listed
        if api.refused(listing):
            assert api.refused(one), f"listing refused, reading one answered {one.status_code}"
            return False
        assert listing.status_code == 200, listing.text
        assert target.pk in [i["id"] for i in listing.json()["items"]]
        assert one.status_code == 200, one.text
        assert one.json()["id"] == target.pk
        return True
    if operation == "add":
        response = await api.request("POST", subject.api_path, json=subject.new_json("api", target))
        created = await subject.find_new(office, "api")
        if api.refused(response):
            assert not created
            return False
        assert response.status_code == 201, response.text
        assert created
        return True
    if operation == "change":
        response = await api.request("PATCH", item, json=subject.change_json)
        changed = await subject.changed(office, target.pk)
        if api.refused(response):
            assert not changed
            return False
        assert response.status_code == 200, response.text
        assert changed
        return True
    assert operation == "delete"
    response = await api.request("DELETE", item)
    gone = await deleted(office, subject.model, target.pk)
    if api.refused(response):
        assert not gone
        return False
    assert response.status_code == 204, response.text
    assert gone
    return True


async def through_admin(subject: Subject, operation: str, admin: Admin, office: BackOffice) -> bool:
    """Do it through the admin; True if allowed, False if refused (anything else fails)."""
    target = await subject.make_target(office, operation, "admin")
    base = f"/admin/{subject.identity}"
    if operation == "view":
        listing = await admin.get(f"{base}/list")
        details = await admin.get(f"{base}/details/{target.pk}")
        if admin.refused(listing):
            assert admin.refused(details), f"list refused, details {admin.describe(details)}"
            return False
        assert listing.status_code == 200, admin.describe(listing)
        assert target.marker in listing.text
        assert details.status_code == 200, admin.describe(details)
        assert target.marker in details.text
        return True
    if operation == "add":
        response = await admin.post_form(f"{base}/create", subject.new_form("admin", target))
        created = await subject.find_new(office, "admin")
        if admin.refused(response):
            assert not created
            return False
        assert admin.saved(response), admin.describe(response)
        assert created
        return True
    if operation == "change":
        response = await admin.post_form(f"{base}/edit/{target.pk}", target.form)
        changed = await subject.changed(office, target.pk)
        if admin.refused(response):
            assert not changed
            return False
        assert admin.saved(response), admin.describe(response)
        assert changed
        return True
    assert operation == "delete"
    response = await admin.delete(subject.identity, target.pk)
    gone = await deleted(office, subject.model, target.pk)
    if admin.refused(response):
        assert not gone
        return False
    assert response.status_code == 200 and "error=" not in response.text, admin.describe(response)
    assert gone
    return True


async def also_grant(office: BackOffice, account: Account, code: str) -> None:
    async with office.session() as session:
        service = office.permissions(session, Caller.operator("system"))
        access = await service.access_of(account.id)
        await service.set_access(
            account.id,
            UserAccess(groups=access.groups, permissions=sorted({*access.permissions, code})),
        )


# -- the table ------------------------------------------------------------------------------------


def expected(kind: str, resource: str, operation: str, door: str) -> bool:
    if resource == "posts" and operation == "add" and door == "api":
        # Anyone signed in writes their own posts (the API writes no post in another's name).
        return kind != "inactive-staff"
    if operation == "view" and kind == "staff-all-but":
        return True  # whoever may change a resource may view it (as in Django's admin)
    return kind in HOLDERS


API_DOORS = {
    (resource, operation): not (resource == "users" and operation == "add")
    for resource in SUBJECTS
    for operation in OPERATIONS
}
"""Which operations the API has: it offers no "add a user" (registration is public)."""

DIFFERENT_BY_DESIGN = {("posts", "add")}
"""Anyone signed in writes their own posts through the API; the admin's create page is for
holders of posts.add. Each door is held to its own rule here, not to the other's."""

CASES = [
    pytest.param(resource, operation, kind, id=f"{resource}.{operation}-{kind}")
    for resource in SUBJECTS
    for operation in OPERATIONS
    for kind in KINDS
]


@pytest.mark.parametrize(("resource", "operation", "kind"), CASES)
async def test_both_doors_allow_and_refuse_alike(
    resource: str, operation: str, kind: str, host_app: FastAPI, office: BackOffice
) -> None:
    subject = SUBJECTS[resource]
    actor = await make_actor(office, kind, f"{resource}.{operation}")
    if (resource, operation) == ("invoices", "add") and kind not in ("superuser", "staff-none"):
        # An invoice names its customer, which must be one the caller may see (both doors).
        await also_grant(office, actor, "customers.view")
    login = actor.user.username
    outcome: dict[str, bool] = {}
    async with new_client(host_app) as api_client, new_client(host_app) as admin_client:
        api, admin = Api(api_client), Admin(admin_client)
        # Inactive accounts sign in nowhere; non-staff ones never enter the admin.
        assert await api.sign_in(login) == (kind != "inactive-staff")
        assert await admin.sign_in(login) == (kind not in ("non-staff", "inactive-staff"))
        if API_DOORS[resource, operation]:
            outcome["api"] = await through_api(subject, operation, api, office)
        outcome["admin"] = await through_admin(subject, operation, admin, office)

    wanted = {door: expected(kind, resource, operation, door) for door in outcome}
    if "api" in outcome and (resource, operation) not in DIFFERENT_BY_DESIGN:
        assert outcome["api"] == outcome["admin"], (
            f"{kind}: the API {'allows' if outcome['api'] else 'refuses'} {resource}.{operation} "
            f"but the admin {'allows' if outcome['admin'] else 'refuses'} it"
        )
    assert outcome == wanted

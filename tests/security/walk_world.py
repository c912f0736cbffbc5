"""The rows the route walk points at, and the valid bodies it sends."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import ApiKeyCreate, AuditEntry, GroupCreate, PostCreate, UserUpdate
from backoffice.services import Caller
from tests.conftest import DEFAULT_PASSWORD, grant, make_user
from tests.security.route_table import Actor

NEW_PASSWORD = "A-Fresh-Passw0rd-42"
SECRET_FILE = "walk-secret.env"
"""What the target user's full name and the draft's title are: a file in the working directory."""

# -- the rows the walk points at -----------------------------------------------------------------


@dataclass
class World:
    """Rows that belong to someone else, made afresh for each kind of user."""

    tag: str
    ids: dict[str, int] = field(default_factory=dict)
    """identity -> primary key."""
    unit: str = ""
    """The unit of work of the target's rename (``revertible``): what a revert points at."""

    def api_param(self, template: str, name: str) -> str:
        if name == "entry_id":
            return str(self.ids["revertible"])
        if name == "unit":
            return self.unit
        if name == "resource":
            return "users"  # a trash: users.delete
        if name == "id":
            return str(self.ids["user"])  # not in the trash: no restore or purge succeeds
        if name == "passkey_id":
            return "1"  # someone else's, or none: never the caller's to remove
        if name == "session_id":
            return "admin-1"
        if name == "item_id":
            for prefix, identity in (("customers", "customer"), ("invoice_lines", "invoice-line")):
                if f"/{prefix}/" in template:
                    return str(self.ids[identity])
            return str(self.ids["invoice"])
        names = {"user_id": "user", "post_id": "post", "group_id": "group", "key_id": "api-key"}
        return str(self.ids[names[name]])


async def make_world(office: BackOffice, tag: str) -> World:
    """The target user's full name and the draft's title name a file in the working
    directory: SQLAdmin's file routes would serve it (see tests/admin/test_routes.py)."""
    world = World(tag)
    system = Caller.operator("system")
    target = await make_user(office, f"target{tag}")
    writer = await make_user(office, f"writer{tag}")
    world.ids["user"] = target.id
    async with office.session() as session:
        await office.users(session, system).update(target.id, UserUpdate(full_name=SECRET_FILE))
        post = await office.posts(session, system).create(
            PostCreate(title=SECRET_FILE, body="Someone else's words.", published=False),
            author_id=writer.id,
        )
        group = await office.groups(session, system).create_group(GroupCreate(name=f"G {tag}"))
        assert post.id is not None
        world.ids |= {"post": post.id, "group": group.id}
        if "invoices" in {resource.name for resource in office.registry}:
            customer = await office.service("customers", session, system).create(
                {"name": f"Customer {tag}"}
            )
            invoice = await office.service("invoices", session, system).create(
                {"number": f"INV-{tag}", "customer_id": customer.id, "amount_cents": 1000}
            )
            line = await office.service("invoice_lines", session, system).create(
                {"invoice_id": invoice.id, "description": "Rockets", "unit_price_cents": 100}
            )
            world.ids |= {"customer": customer.id, "invoice": invoice.id, "invoice-line": line.id}
    keyholder = await make_user(office, f"keyholder{tag}", is_staff=True)
    await grant(office, keyholder, ["users.view"])
    async with office.session() as session:
        key = await office.api_keys(session, system).create(
            ApiKeyCreate(
                name=f"Key {tag}",
                scopes=["users.view"],
                expires_at=datetime.now(UTC) + timedelta(days=1),
                user_id=keyholder.id,
            )
        )
        assert key.row.id is not None
        world.ids["api-key"] = key.row.id
    async with office.session() as session:
        newest = select(AuditEntry).order_by(col(AuditEntry.id).desc())
        last = (await session.exec(newest)).first()
        renamed = select(AuditEntry).where(
            col(AuditEntry.object_type) == "users",
            col(AuditEntry.object_id) == str(target.id),
            col(AuditEntry.action) == "update",
        )
        rename = (await session.exec(renamed)).one()
    assert last is not None and last.id is not None and rename.id is not None
    world.ids["audit-entry"] = last.id
    world.ids["revertible"] = rename.id
    world.unit = rename.unit or ""
    return world


def api_body(method: str, template: str, world: World, actor: Actor) -> dict[str, Any]:
    """A valid body for the writes the API offers (so the permission decides), else none."""
    tag = world.tag
    login = actor.account.user.username if actor.account else "nobody"
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/auth/login"): {"data": {"username": login, "password": DEFAULT_PASSWORD}},
        ("POST", "/api/auth/refresh"): {"json": {"refresh_token": "not-a-token"}},
        ("POST", "/api/auth/password-reset"): {"json": {"email": "nobody@example.com"}},
        ("POST", "/api/auth/password-reset/confirm"): {
            "json": {"token": "not-a-token", "new_password": NEW_PASSWORD}
        },
        ("POST", "/api/users/"): {
            "json": {
                "email": f"reg{tag}@example.com",
                "username": f"reg{tag}",
                "password": NEW_PASSWORD,
            }
        },
        ("PATCH", "/api/users/me"): {"json": {"full_name": "Walked"}},
        ("POST", "/api/users/me/password"): {
            "json": {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
        },
        ("PATCH", "/api/users/{user_id}"): {"json": {"full_name": "Changed"}},
        ("PUT", "/api/users/{user_id}/access"): {"json": {"permissions": [], "groups": []}},
        ("POST", "/api/posts/"): {"json": {"title": f"Mine {tag}", "body": "Mine."}},
        ("PATCH", "/api/posts/{post_id}"): {"json": {"title": "Changed"}},
        ("POST", "/api/groups/"): {"json": {"name": f"New group {tag}", "permissions": []}},
        ("PATCH", "/api/groups/{group_id}"): {"json": {"name": f"Renamed {tag}"}},
        ("POST", "/api/customers/"): {"json": {"name": f"New customer {tag}"}},
        ("PATCH", "/api/customers/{item_id}"): {"json": {"name": "Changed"}},
        ("POST", "/api/invoices/"): {
            "json": {
                "number": f"NEW-{tag}",
                "customer_id": world.ids.get("customer", 0),
                "amount_cents": 500,
            }
        },
        ("PATCH", "/api/invoices/{item_id}"): {"json": {"amount_cents": 4321}},
        ("POST", "/api/api-keys/"): {
            "json": {
                "name": f"Walk {tag}",
                "scopes": ["users.view"],
                "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            }
        },
        ("POST", "/api/invoice_lines/"): {
            "json": {
                "invoice_id": world.ids.get("invoice", 0),
                "description": f"New line {tag}",
                "unit_price_cents": 5,
            }
        },
        ("PATCH", "/api/invoice_lines/{item_id}"): {"json": {"quantity": 3}},
    }
    return bodies.get((method, template), {})


def admin_form(name: str, identity: str | None, world: World) -> dict[str, str]:
    """A valid form for the admin's create, edit, set-password and bulk pages."""
    tag = world.tag
    pk = str(world.ids.get(identity or "", 0))
    if name == "set_password":
        return {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    if name == "revert":
        return {"entry": str(world.ids["revertible"])}
    if name.endswith("-bulk"):
        return {"pks": pk}
    if name == "list_edit":
        return {"pks": pk, f"row-{pk}-amount_cents": "4321", f"row-{pk}-status": "draft"}
    if name == "login":
        return {"username": "nobody", "password": "not-a-password"}
    if name == "password_reset":
        return {"email": "nobody@example.com"}
    forms = {
        "user": {
            "email": f"adm{tag}@example.com",
            "username": f"adm{tag}",
            "password": NEW_PASSWORD,
            "full_name": "Changed",
            "is_active": "y",
        },
        "post": {"title": "Changed", "body": "Words.", "published": "y"},
        "group": {"name": f"Admin group {tag}"},
        "customer": {"name": "Changed"},
        "invoice-line": {
            "invoice": str(world.ids.get("invoice", 0)),
            "description": f"Admin line {tag}",
            "quantity": "2",
            "unit_price_cents": "7",
        },
        "invoice": {
            "number": f"ADM-{tag}",
            "customer": str(world.ids.get("customer", 0)),
            "amount_cents": "4321",
            "status": "draft",
        },
    }
    form = dict(forms.get(identity or "", {}))
    if name == "edit" and identity == "user":
        form |= {"email": f"target{tag}@example.com", "username": f"target{tag}"}
        form.pop("password")
    if name == "edit" and identity == "invoice":
        form["number"] = f"INV-{tag}"
    if name == "edit" and identity == "group":
        form["name"] = f"Renamed in the admin {tag}"
    return form

"""The walk's expectation table: who may use which route of the API and the admin.

Each (method, path template) of the API, and each admin route by name, says who may get a
success from it; a route the tables do not know fails the walk (tests/security/test_route_walk.py)
until someone decides who may use it.
"""

from dataclasses import dataclass

from tests.conftest import Account

# -- who may do what -------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """``public``: anyone; ``signed_in``: any active account; ``staff``: an admin session;
    ``all``/``any``: staff holding all/any of ``codes`` (a superuser holds every code);
    ``nobody``: not served at all, not even to a superuser."""

    rule: str
    codes: frozenset[str] = frozenset()


PUBLIC, SIGNED_IN, STAFF, NOBODY = Need("public"), Need("signed_in"), Need("staff"), Need("nobody")
SUPERUSER = Need("all", frozenset({"(superuser only)"}))
"""Only a superuser: no permission code grants it."""


def perm(*codes: str) -> Need:
    return Need("all", frozenset(codes))


def any_of(*codes: str) -> Need:
    return Need("any", frozenset(codes))


@dataclass
class Actor:
    kind: str
    account: Account | None
    permissions: frozenset[str]

    def may(self, need: Need) -> bool:
        if need.rule in ("public", "nobody"):
            return need.rule == "public"
        if self.kind == "anonymous":
            return False
        if need.rule == "signed_in":
            return True
        if self.kind == "plain":
            return False  # holds nothing, and the admin is for staff
        if need.rule == "staff" or self.kind == "superuser":
            return True
        held = need.codes & self.permissions
        return held == need.codes if need.rule == "all" else bool(held)


API: dict[tuple[str, str], Need] = {
    **{("GET", path): PUBLIC for path in ("/", "/health", "/ready")},
    **{
        (method, f"{prefix}{path}"): PUBLIC
        for prefix in ("", "/api")
        for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for method in ("GET", "HEAD")
    },
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("POST", "/api/auth/password-reset"): PUBLIC,
    ("POST", "/api/auth/password-reset/confirm"): PUBLIC,
    ("POST", "/api/auth/login/second-factor"): PUBLIC,
    ("POST", "/api/auth/login/passkey-options"): PUBLIC,
    ("GET", "/api/auth/second-factors"): SIGNED_IN,
    ("POST", "/api/auth/second-factors/totp"): SIGNED_IN,
    ("POST", "/api/auth/second-factors/totp/confirm"): SIGNED_IN,
    ("DELETE", "/api/auth/second-factors/totp"): SIGNED_IN,
    ("POST", "/api/auth/second-factors/recovery-codes"): SIGNED_IN,
    ("POST", "/api/auth/second-factors/passkeys/options"): SIGNED_IN,
    ("POST", "/api/auth/second-factors/passkeys"): SIGNED_IN,
    ("DELETE", "/api/auth/second-factors/passkeys/{passkey_id}"): SIGNED_IN,
    ("GET", "/api/auth/sessions"): SIGNED_IN,
    ("DELETE", "/api/auth/sessions/{session_id}"): SIGNED_IN,
    ("POST", "/api/auth/sessions/end-others"): SIGNED_IN,
    ("GET", "/api/users/{user_id}/sessions"): SUPERUSER,
    ("DELETE", "/api/users/{user_id}/sessions"): SUPERUSER,
    ("DELETE", "/api/users/{user_id}/second-factors"): SUPERUSER,
    ("GET", "/api/audit/"): perm("audit.view"),
    # Revert: the log, and the change itself through its service (the target's rename)
    ("POST", "/api/audit/{entry_id}/revert"): perm("audit.view", "users.change"),
    ("POST", "/api/audit/units/{unit}/revert"): perm("audit.view", "users.change"),
    # The users' trash (the target is not in it: a restore or purge finds nothing)
    ("GET", "/api/trash/{resource}/"): perm("users.delete"),
    ("POST", "/api/trash/{resource}/{id}/restore"): perm("users.delete"),
    ("DELETE", "/api/trash/{resource}/{id}"): perm("users.delete"),
    ("POST", "/api/users/"): PUBLIC,  # registration of an ordinary account
    ("GET", "/api/users/"): perm("users.view"),
    ("GET", "/api/users/me"): SIGNED_IN,
    ("PATCH", "/api/users/me"): SIGNED_IN,
    ("POST", "/api/users/me/password"): SIGNED_IN,
    ("GET", "/api/users/me/access"): SIGNED_IN,
    ("GET", "/api/users/{user_id}"): perm("users.view"),
    ("PATCH", "/api/users/{user_id}"): perm("users.change"),
    ("DELETE", "/api/users/{user_id}"): perm("users.delete"),
    ("GET", "/api/users/{user_id}/access"): perm("users.view"),
    ("PUT", "/api/users/{user_id}/access"): perm("users.change"),
    ("GET", "/api/posts/"): SIGNED_IN,  # published posts and one's own
    ("POST", "/api/posts/"): SIGNED_IN,  # one's own posts
    ("GET", "/api/posts/{post_id}"): perm("posts.view"),  # the target is another's draft
    ("PATCH", "/api/posts/{post_id}"): perm("posts.change"),
    ("DELETE", "/api/posts/{post_id}"): perm("posts.delete"),
    ("GET", "/api/permissions/"): any_of("groups.view", "users.change"),
    ("GET", "/api/groups/"): perm("groups.view"),
    ("POST", "/api/groups/"): perm("groups.add"),
    ("GET", "/api/groups/{group_id}"): perm("groups.view"),
    ("PATCH", "/api/groups/{group_id}"): perm("groups.change"),
    ("DELETE", "/api/groups/{group_id}"): perm("groups.delete"),
    **{
        (method, path.format(name=name)): perm(f"{name}.{action}")
        for name in ("customers", "invoices", "invoice_lines")
        for method, path, action in (
            ("GET", "/api/{name}/", "view"),
            ("POST", "/api/{name}/", "add"),
            ("GET", "/api/{name}/{{item_id}}", "view"),
            ("PATCH", "/api/{name}/{{item_id}}", "change"),
            ("DELETE", "/api/{name}/{{item_id}}", "delete"),
        )
    },
    ("POST", "/api/invoices/{item_id}/mark_paid"): perm("invoices.change"),
    # API keys: one's own (active staff: a key holds staff rights); someone else's, a superuser
    ("POST", "/api/api-keys/"): STAFF,
    ("GET", "/api/api-keys/"): STAFF,
    ("GET", "/api/api-keys/{key_id}"): SUPERUSER,
    ("DELETE", "/api/api-keys/{key_id}"): SUPERUSER,
}
"""(method, path template) -> who may use it, for every route of the API and the app."""

RESOURCE = {"user": "users", "post": "posts", "group": "groups", "customer": "customers"}
RESOURCE |= {"invoice": "invoices", "invoice-line": "invoice_lines", "audit-entry": "audit"}

LIST_EDITABLE = {"invoice"}
"""Views with ``list_editable`` columns (admin:list_edit saves them)."""

SEARCHED_RELATION = {"invoice": "customer"}
"""View identity -> a relation field of its form searched on demand (admin:relation_choices)."""


def admin_need(name: str, method: str, identity: str | None, bulk: str | None) -> Need:
    """Who may use the admin route ``name`` with ``method`` on the view ``identity``."""
    reading = method in ("GET", "HEAD")
    if name in ("statics", "backoffice_static"):
        return PUBLIC if reading else NOBODY
    if name in ("login", "password_reset", "password_reset_confirm", "login_second_factor"):
        return PUBLIC if method in ("GET", "HEAD", "POST") else NOBODY
    if name in ("login_passkey_options", "login_passkey", "login_second_factor_passkey_options"):
        return PUBLIC if method == "POST" else NOBODY
    if name == "security":
        return STAFF if reading else NOBODY
    if name == "security_action":
        return STAFF if method == "POST" else NOBODY
    if name == "logout":
        return STAFF if method == "POST" else NOBODY
    if name == "index":
        return STAFF if reading else NOBODY
    if name == "api_keys":  # one's own keys (a superuser's: everyone's)
        return STAFF if method in ("GET", "HEAD", "POST") else NOBODY
    if name == "api_keys_revoke":  # revokes only keys the caller may see
        return STAFF if method == "POST" else NOBODY
    if name == "revert":  # the target's rename, through the users' service
        return perm("audit.view", "users.change") if method == "POST" else NOBODY
    if identity is None:
        return NOBODY  # an address-only route: not served
    resource = RESOURCE[identity]
    view = f"{resource}.view"
    if identity == "audit-entry" and name not in ("list", "details", "export"):
        return NOBODY  # the audit log is read-only
    if name in ("list", "details", "export"):
        return perm(view) if reading else NOBODY
    if name == "history":
        return perm(view, "audit.view") if reading else NOBODY
    if name in ("create", "edit"):
        action = "add" if name == "create" else "change"
        return perm(f"{resource}.{action}") if method in ("GET", "HEAD", "POST") else NOBODY
    if name == "delete":
        return perm(f"{resource}.delete") if method == "DELETE" else NOBODY
    if name == "relation_choices":  # a relation's search: for a form or a list's filter
        ok = reading and identity in SEARCHED_RELATION
        codes = (f"{resource}.{action}" for action in ("view", "add", "change"))
        return any_of(*codes) if ok else NOBODY
    if name == "user_security":  # another user's factors and sessions
        ok = identity == "user" and method in ("GET", "HEAD", "POST")
        return SUPERUSER if ok else NOBODY
    if name == "list_edit":  # list-editable columns: one POST saving the changed rows
        ok = method == "POST" and identity in LIST_EDITABLE
        return perm(f"{resource}.change") if ok else NOBODY
    if name == "trash":  # a resource's trash: for whoever may delete its rows
        return perm(f"{resource}.delete") if reading else NOBODY
    if name in ("trash_restore", "trash_purge"):
        return perm(f"{resource}.delete") if method == "POST" else NOBODY
    if name == "set_password":
        ok = identity == "user" and method in ("GET", "HEAD", "POST")
        return perm("users.change") if ok else NOBODY
    if name.startswith("view-") and name.endswith("-bulk") and bulk is not None:
        action = BULK_PERMISSION[bulk]
        return perm(f"{resource}.{action}") if method in ("GET", "HEAD", "POST") else NOBODY
    if name.startswith("view-") and name.endswith("-action") and bulk is not None:
        action = BULK_PERMISSION[bulk]  # a custom action's button: one row, by POST only
        return perm(f"{resource}.{action}") if method == "POST" else NOBODY
    raise AssertionError(f"the walk does not know the admin route {name!r}: say who may use it")


BULK_PERMISSION = {
    "delete_selected": "delete",
    "activate_selected": "change",
    "deactivate_selected": "change",
    "mark_paid": "change",
}

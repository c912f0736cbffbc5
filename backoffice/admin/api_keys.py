"""The admin's "API keys" page: one's own keys (a superuser: everyone's), a form to create
one (shown once, on the answer to the form), and revoking, one or many at a time.

Every read and write goes through ``ApiKeyService``; this page only turns the form into its
arguments and its refusals into a message. Link to it by the route name ``admin:api_keys``
(a per-user security page can do so too).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqladmin import Admin, Flash
from sqladmin.authentication import login_required
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.auth import AdminAuth, admin_caller
from backoffice.admin.lookup import AdminPage, render
from backoffice.admin.views import describe_validation_error
from backoffice.errors import DomainError, InvalidInput
from backoffice.models import ApiKey, ApiKeyCreate, User, utcnow
from backoffice.services.api_keys import ApiKeyService, NewApiKey

TEMPLATE = "backoffice/api_keys.html"
PAGE_SIZE = 50
DEFAULT_LIFETIME_DAYS = 90
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    owner: User | None
    status: str


class ApiKeysPage(AdminPage):
    @property
    def office(self) -> Any:
        backend = self._admin_ref.authentication_backend
        assert isinstance(backend, AdminAuth)
        return backend.office

    def _service(self, session: Any, request: Request) -> ApiKeyService:
        service: ApiKeyService = self.office.api_keys(session, admin_caller(request))
        return service

    @login_required
    async def page(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._render(request)
        form = await request.form()
        try:
            created = await self._create(request, form)
        except DomainError as exc:
            return await self._render(request, error=exc.detail, form=form, status_code=400)
        # Rendered in the answer to the POST, never stored for a later page: shown this once.
        response = await self._render(request, created=created)
        response.headers.update(NO_STORE)
        return response

    @login_required
    async def revoke(self, request: Request) -> Response:
        form = await request.form()
        try:
            ids = [int(str(value)) for value in form.getlist("ids")]
        except ValueError:
            raise HTTPException(status_code=400, detail="Choose keys by their numbers.") from None
        if not ids:
            Flash.error(request, "Choose the keys to revoke.")
        else:
            try:
                async with self.office.session() as session:
                    count = await self._service(session, request).revoke_many(ids)
            except DomainError as exc:
                raise HTTPException(status_code=403, detail=exc.detail) from None
            Flash.success(request, f"{count} key{'s' if count != 1 else ''} revoked.")
        return RedirectResponse(request.url_for("admin:api_keys"), status_code=302)

    async def _create(self, request: Request, form: FormData) -> NewApiKey:
        expires = _parse_date(form.get("expires_on"))
        owner = str(form.get("owner") or "").strip()
        async with self.office.session() as session:
            service = self._service(session, request)
            owner_id = None
            if owner:
                found = await self.office.users(session, admin_caller(request)).find_by_login(owner)
                if found is None:
                    raise InvalidInput.single("owner", f"no user is called {owner!r}")
                owner_id = found.id
            try:
                data = ApiKeyCreate(
                    name=str(form.get("name") or ""),
                    scopes=[str(s) for s in form.getlist("scopes")],
                    expires_at=expires,
                    user_id=owner_id,
                )
            except ValidationError as exc:
                raise InvalidInput.single("form", describe_validation_error(exc)) from None
            return await service.create(data)

    async def _render(
        self,
        request: Request,
        *,
        created: NewApiKey | None = None,
        error: str | None = None,
        form: FormData | None = None,
        status_code: int = 200,
    ) -> Response:
        skip = _skip(request)
        async with self.office.session() as session:
            service = self._service(session, request)
            try:
                page = await service.list(skip=skip, limit=PAGE_SIZE)
                grantable = await service.grantable()
            except DomainError as exc:
                raise HTTPException(status_code=403, detail=exc.detail) from None
            owners = await service.owners(page.items)
        now = utcnow()
        today = now.date()
        max_days = self.office.settings.api_key_max_lifetime_days
        context = {
            "title": "API keys",
            "rows": [KeyRow(k, owners.get(k.user_id), _status(k, now)) for k in page.items],
            "page": page,
            "all_keys": service.caller.is_superuser,
            "grantable": grantable,
            "created": created,
            "error": error,
            "chosen": set(form.getlist("scopes")) if form is not None else set(),
            "name": str(form.get("name") or "") if form is not None else "",
            "owner": str(form.get("owner") or "") if form is not None else "",
            "expires_min": (today + timedelta(days=1)).isoformat(),
            "expires_max": (today + timedelta(days=max_days)).isoformat(),
            "expires_default": (form.get("expires_on") if form is not None else None)
            or (today + timedelta(days=min(DEFAULT_LIFETIME_DAYS, max_days))).isoformat(),
            "max_days": max_days,
            "previous_skip": max(skip - PAGE_SIZE, 0) if skip else None,
            "next_skip": skip + PAGE_SIZE if skip + PAGE_SIZE < page.total else None,
        }
        return await render(self._admin_ref, request, TEMPLATE, context, status_code=status_code)


def _parse_date(value: object) -> datetime:
    """The start (UTC) of the day chosen in the form."""
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError:
        raise InvalidInput.single("expires_on", "choose the day the key expires") from None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _skip(request: Request) -> int:
    try:
        skip = int(request.query_params.get("skip", "0"))
    except ValueError:
        return 0
    return min(max(skip, 0), 1_000_000)


def _status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at <= now:
        return "expired"
    return "active"


def api_key_routes(admin: Admin) -> list[Route]:
    page = ApiKeysPage(admin)
    return [
        Route("/api-keys", page.page, methods=["GET", "POST"], name="api_keys"),
        Route("/api-keys/revoke", page.revoke, methods=["POST"], name="api_keys_revoke"),
    ]

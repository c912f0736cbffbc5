"""A resource's Trash in the admin (``services.trash``): ``/{identity}/trash`` lists the rows
deleted from it, who deleted each and when; each row has "Restore" and "Delete for good"
buttons (POSTs with the CSRF token). Shown to whoever may delete the resource's rows, linked
from its list page."""

from typing import Any

from sqladmin import Admin, Flash
from sqladmin.authentication import login_required
from sqlalchemy import inspect as sa_inspect
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.auth import admin_caller
from backoffice.admin.history import page_number
from backoffice.admin.lookup import AdminPage, render, service_view
from backoffice.admin.views import ServiceModelView
from backoffice.errors import DomainError, NotFound, PermissionDenied
from backoffice.models.common import MAX_ID
from backoffice.registry import Resource
from backoffice.services.audit import describe

PAGE_SIZE = 50


def trash_of(view: Any) -> Resource | None:
    """The registered resource behind ``view``, if it has a trash."""
    if not isinstance(view, ServiceModelView):
        return None
    resource = view.office.registry.for_model(view.model)
    return resource if resource is not None and resource.trash else None


def trash_link(request: Request, view: Any) -> str | None:
    """For the list page: the address of the view's Trash, if the user may open it."""
    if trash_of(view) is None or not view.allows(request, "delete"):
        return None
    return str(request.url_for("admin:trash", identity=view.identity))


class TrashPage(AdminPage):
    def _view(self, request: Request) -> tuple[ServiceModelView, Resource]:
        view = service_view(self._admin_ref, request.path_params["identity"])
        resource = trash_of(view)
        if resource is None:
            raise HTTPException(status_code=404)
        if not view.allows(request, "delete"):
            raise HTTPException(status_code=403)
        return view, resource

    @login_required
    async def show(self, request: Request) -> Response:
        view, resource = self._view(request)
        page = page_number(request.query_params.get("page"))
        skip = (page - 1) * PAGE_SIZE
        try:
            async with view.office.session() as session:
                trash = view.office.trash(resource.name, session, admin_caller(request))
                found = await trash.list(skip=skip, limit=PAGE_SIZE)
                rows = [
                    {
                        "pk": sa_inspect(obj).identity[0],
                        "label": describe(obj),
                        "deleted_at": obj.deleted_at,
                        "deleted_by": obj.deleted_by,
                    }
                    for obj in found.items
                ]
        except PermissionDenied as exc:
            raise HTTPException(status_code=403, detail=exc.detail) from None
        context = {
            "title": f"Trash: {view.name_plural}",
            "model_view": view,
            "rows": rows,
            "page": page,
            "has_older": found.total > skip + len(rows),
            "days": view.office.settings.trash_days,
        }
        return await render(self._admin_ref, request, "backoffice/trash.html", context)

    @login_required
    async def restore(self, request: Request) -> Response:
        return await self._act(request, "restore")

    @login_required
    async def purge(self, request: Request) -> Response:
        return await self._act(request, "purge")

    async def _act(self, request: Request, what: str) -> Response:
        view, resource = self._view(request)
        pk = _pk(request.path_params["pk"])
        back = str(request.url_for("admin:trash", identity=view.identity))
        try:
            async with view.office.session() as session:
                trash = view.office.trash(resource.name, session, admin_caller(request))
                label = describe(await trash.get(pk))
                if what == "restore":
                    await trash.restore(pk)
                else:
                    await trash.purge(pk)
        except NotFound:
            raise HTTPException(status_code=404) from None
        except PermissionDenied as exc:
            raise HTTPException(status_code=403, detail=exc.detail) from None
        except DomainError as exc:
            Flash.error(request, exc.detail, title="Not restored" if what == "restore" else "Kept")
            return RedirectResponse(back, status_code=303)
        if what == "restore":
            Flash.success(request, f"{view.name} “{label}” was restored.")
            target = request.url_for("admin:details", identity=view.identity, pk=str(pk))
            return RedirectResponse(str(target), status_code=303)
        Flash.success(request, f"{view.name} “{label}” was deleted for good.")
        return RedirectResponse(back, status_code=303)


def _pk(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise HTTPException(status_code=404)
    return int(raw)


def trash_routes(admin: Admin) -> list[Route]:
    page = TrashPage(admin)
    return [
        Route("/{identity}/trash", page.show, name="trash"),
        Route(
            "/{identity}/trash/{pk}/restore", page.restore, methods=["POST"], name="trash_restore"
        ),
        Route("/{identity}/trash/{pk}/purge", page.purge, methods=["POST"], name="trash_purge"),
    ]

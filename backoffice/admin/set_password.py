"""The user admin's "Set password" form, like Django's: an admin gives a user a new password.

``UserService.set_password`` applies the password policy and ends the user's sessions and
tokens; this page only collects the password twice and shows what the service says.
"""

from typing import Any

from sqladmin import Admin, Flash
from sqladmin.authentication import login_required
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.lookup import AdminPage, object_or_404, render, service_view
from backoffice.admin.users import UserAdmin
from backoffice.admin.views import AdminFormError, ServiceModelView

TEMPLATE = "backoffice/set_password.html"


def may_set_password(view: ServiceModelView, request: Request) -> bool:
    return isinstance(view, UserAdmin) and view.allows(request, "change")


class SetPasswordPage(AdminPage):
    @login_required
    async def form(self, request: Request) -> Response:
        admin = self._admin_ref
        view = service_view(admin, request.path_params["identity"])
        if not isinstance(view, UserAdmin):
            raise HTTPException(status_code=404)
        if not may_set_password(view, request):
            raise HTTPException(status_code=403)
        user = await object_or_404(view, request)
        user_id: int = user.id
        try:  # an account the caller may not manage gets no form, not a form that fails later
            await view.run(request, lambda s, c: view.office.users(s, c).may_set_password(user_id))
        except AdminFormError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        context: dict[str, Any] = {"title": "Set password", "model_view": view, "model": user}
        if request.method == "GET":
            return await render(admin, request, TEMPLATE, context)

        form = await request.form()
        first, second = form.get("password"), form.get("password2")
        if not isinstance(first, str) or not first or not isinstance(second, str) or not second:
            context["error"] = "Fill in both password fields."
        elif first != second:
            context["error"] = "The two passwords differ."
        else:
            password: str = first
            try:
                await view.run(
                    request, lambda s, c: view.office.users(s, c).set_password(user_id, password)
                )
            except AdminFormError as exc:
                context["error"] = str(exc)  # the policy's words; never the password itself
            else:
                Flash.success(
                    request,
                    f"The password of {user.username} was changed; "
                    "their sessions and API tokens have ended.",
                )
                target = request.url_for(
                    "admin:details", identity=view.identity, pk=request.path_params["pk"]
                )
                return RedirectResponse(target, status_code=302)
        return await render(admin, request, TEMPLATE, context, status_code=400)


def set_password_routes(admin: Admin) -> list[Route]:
    page = SetPasswordPage(admin)
    return [
        Route(
            "/{identity}/set-password/{pk:path}",
            page.form,
            methods=["GET", "POST"],
            name="set_password",
        )
    ]

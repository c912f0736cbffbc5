"""``GET /admin/{identity}/choices/{field}?q=…&page=…``: one page of the rows a relation field
of these rows may name (a form's field, a list's filter), matching what the user typed
(``relations.search_choices``).

Answers JSON ``{"results": [{"id": "3", "label": "Acme"}], "more": false}``. Only for a
signed-in staff user who may view, add or change rows of the view; the related rows are those
the related resource's service lets them see (none without its ``view`` permission).
"""

from sqladmin import Admin
from sqladmin.authentication import login_required
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backoffice.admin.lookup import AdminPage, service_view
from backoffice.admin.relations import search_choices, searched_on_demand

MAX_QUERY = 200
MAX_PAGE = 10_000


class RelationChoices(AdminPage):
    @login_required
    async def search(self, request: Request) -> Response:
        view = service_view(self._admin_ref, request.path_params["identity"])
        name = request.path_params["field"]
        if not searched_on_demand(view.office, view.model, name):
            raise HTTPException(404, f"{name!r} is not a searchable relation of these rows.")
        if not any(view.allows(request, action) for action in ("view", "add", "change")):
            raise HTTPException(403, "You may not view, add or change these rows.")
        query = request.query_params.get("q", "")
        if len(query) > MAX_QUERY or "\x00" in query:
            raise HTTPException(400, f"q: at most {MAX_QUERY} characters, no NUL.")
        page_text = request.query_params.get("page", "1")
        if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
            raise HTTPException(400, f"page: a whole number from 1 to {MAX_PAGE}.")
        choices, more = await search_choices(
            view.office, view.model, name, view.caller(request), query, int(page_text)
        )
        results = [{"id": key, "label": label} for key, label in choices]
        return JSONResponse(
            {"results": results, "more": more}, headers={"Cache-Control": "no-store"}
        )


def choices_routes(admin: Admin) -> list[Route]:
    page = RelationChoices(admin)
    return [
        Route(
            "/{identity}/choices/{field}",
            page.search,
            methods=["GET"],
            name="relation_choices",
        )
    ]

"""REST routes generated for a registered resource: ``GET/POST /{name}/`` and
``GET/PATCH/DELETE /{name}/{id}``, typed with the resource's own Create/Update/Public variants
so the OpenAPI document describes them."""

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from backoffice.api.deps import CallerDep, IdPath, OfficeDep, SessionDep
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.api.versions import IfMatch, tagged
from backoffice.models import Page
from backoffice.registry import Resource
from backoffice.services.actions import ResourceAction
from backoffice.services.resources import ResourceService


def build_resource_router(resource: Resource) -> APIRouter:
    Create, Update, Public = resource.create_schema, resource.update_schema, resource.public_schema
    label = resource.label.lower()

    async def get_service(
        session: SessionDep, caller: CallerDep, office: OfficeDep
    ) -> ResourceService:
        return office.service(resource.name, session, caller)  # type: ignore[no-any-return]

    Service = Annotated[ResourceService, Depends(get_service)]
    router = APIRouter(
        prefix=f"/{resource.name}", tags=[resource.name], responses=problem_responses(401, 403)
    )

    filters = _filter_dependency(resource)
    sort_and_page = page_query(getattr(resource.service_class, "sort_fields", ("id",)))

    @router.get(
        "/",
        response_model=Page[Public],  # type: ignore[valid-type]
        responses=problem_responses(422),
        name=f"list_{resource.name}",
        summary=f"List {resource.label_plural.lower()}",
    )
    async def list_items(
        service: Service,
        page: Annotated[PageQuery, Depends(sort_and_page)],
        filter_values: Annotated[dict[str, Any], Depends(filters)],
    ) -> Any:
        return await service.list(
            skip=page.skip,
            limit=page.limit,
            search=page.search,
            sort=page.sort,
            filters=filter_values,
        )

    @router.post(
        "/",
        response_model=Public,
        status_code=status.HTTP_201_CREATED,
        responses=problem_responses(409, 422),
        name=f"create_{resource.name}",
        summary=f"Create a {label}",
    )
    async def create_item(data: Create, service: Service) -> Any:  # type: ignore[valid-type]
        return await service.create(data)

    @router.get(
        "/{item_id}",
        response_model=Public,
        responses=problem_responses(404, 422),
        name=f"read_{resource.name}",
        summary=f"Read a {label}",
    )
    async def read_item(item_id: IdPath, service: Service, response: Response) -> Any:
        return tagged(response, await service.get(item_id))

    @router.patch(
        "/{item_id}",
        response_model=Public,
        responses=problem_responses(404, 409, 412, 422, 428),
        name=f"update_{resource.name}",
        summary=f"Change a {label}",
    )
    async def update_item(
        item_id: IdPath,
        data: Update,  # type: ignore[valid-type]
        service: Service,
        version: IfMatch,
        response: Response,
    ) -> Any:
        return tagged(response, await service.update(item_id, data, version=version))

    @router.delete(
        "/{item_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=problem_responses(404, 409, 412, 422, 428),
        name=f"delete_{resource.name}",
        summary=f"Delete a {label}",
    )
    async def delete_item(item_id: IdPath, service: Service, version: IfMatch) -> Response:
        await service.delete(item_id, version=version)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    for declared in resource.actions.values():
        _add_action_route(router, resource, declared, Service)
    return router


def _add_action_route(
    router: APIRouter, resource: Resource, declared: ResourceAction, service_dep: Any
) -> None:
    """``POST /{name}/{id}/{action}``: the service's ``run_action``; answers the row as the
    public variant shows it."""

    async def do_action(item_id: IdPath, service: service_dep) -> Any:
        return await service.run_action(declared.name, item_id)

    router.add_api_route(
        f"/{{item_id}}/{declared.name}",
        do_action,
        methods=["POST"],
        response_model=resource.public_schema,
        responses=problem_responses(404, 409, 422),
        name=f"{declared.name}_{resource.name}",
        summary=f"{declared.label} ({resource.label.lower()})",
        description=(
            f'The custom action "{declared.label}": needs the `{declared.permission}` '
            f"permission on the {resource.label.lower()}; answers it as changed. A row the "
            "caller may not see is 404; a refusal by the rules is 403, 409 or 422."
        ),
    )


def _filter_dependency(resource: Resource) -> Any:
    """A dependency whose query parameters are the resource's ``filter_fields``, each typed as
    its column, so OpenAPI lists them and bad values answer 422."""
    model = resource.model
    names = list(getattr(resource.service_class, "filter_fields", ()))
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[model.model_fields[name].annotation | None, Query()],  # type: ignore[operator]
        )
        for name in names
    ]

    async def filters(**values: Any) -> dict[str, Any]:
        return {name: value for name, value in values.items() if value is not None}

    filters.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    return filters

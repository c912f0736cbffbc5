"""``/groups`` and ``/permissions``: who may do what, for those allowed to manage it."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from backoffice.api.deps import GroupServiceDep, IdPath, PermissionServiceDep
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.api.versions import IfMatch, tagged
from backoffice.models import GroupCreate, GroupPublic, GroupUpdate, Page, PermissionPublic
from backoffice.services.groups import GROUP_SORT_FIELDS

router = APIRouter(responses=problem_responses(401, 403))


@router.get("/permissions/", response_model=list[PermissionPublic], tags=["groups"])
async def list_permissions(permissions: PermissionServiceDep) -> list[PermissionPublic]:
    """Every permission there is: view, add, change and delete for each resource, and
    ``audit.view``. Needs ``groups.view`` or ``users.change``."""
    return await permissions.list_permissions()


@router.get(
    "/groups/", response_model=Page[GroupPublic], tags=["groups"], responses=problem_responses(422)
)
async def list_groups(
    groups: GroupServiceDep,
    page: Annotated[PageQuery, Depends(page_query(GROUP_SORT_FIELDS))],
) -> Page[GroupPublic]:
    """Needs ``groups.view``. ``search`` looks in the name."""
    return await groups.list_groups(
        skip=page.skip, limit=page.limit, search=page.search, sort=page.sort
    )


@router.post(
    "/groups/",
    response_model=GroupPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["groups"],
    responses=problem_responses(409, 422),
)
async def create_group(data: GroupCreate, groups: GroupServiceDep) -> GroupPublic:
    """Needs ``groups.add``; you may only put in permissions you hold yourself."""
    return await groups.create_group(data)


@router.get(
    "/groups/{group_id}",
    response_model=GroupPublic,
    tags=["groups"],
    responses=problem_responses(404),
)
async def read_group(group_id: IdPath, groups: GroupServiceDep, response: Response) -> GroupPublic:
    """Its version is the ``ETag``."""
    return tagged(response, await groups.get_group(group_id))


@router.patch(
    "/groups/{group_id}",
    response_model=GroupPublic,
    tags=["groups"],
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def update_group(
    group_id: IdPath,
    data: GroupUpdate,
    groups: GroupServiceDep,
    version: IfMatch,
    response: Response,
) -> GroupPublic:
    """Needs ``groups.change``; ``permissions``, when given, replaces the group's. With
    ``If-Match``, only if the group is still at that version (else 412)."""
    return tagged(response, await groups.update_group(group_id, data, version=version))


@router.delete(
    "/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["groups"],
    responses=problem_responses(404, 412, 428),
)
async def delete_group(group_id: IdPath, groups: GroupServiceDep, version: IfMatch) -> Response:
    """Needs ``groups.delete``; its members lose the group's permissions."""
    await groups.delete_group(group_id, version=version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

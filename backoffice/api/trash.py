"""``/trash/{resource}``: a resource's deleted rows, for whoever may delete its rows
(``services.trash``): list them, restore one, purge one."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import inspect as sa_inspect

from backoffice.api.deps import CallerDep, IdPath, OfficeDep, SessionDep
from backoffice.api.problems import problem_responses
from backoffice.models import Page
from backoffice.services.audit import describe
from backoffice.services.base import MAX_PAGE_SIZE
from backoffice.services.trash import TrashService

router = APIRouter(
    prefix="/trash/{resource}",
    tags=["trash"],
    responses=problem_responses(401, 403, 404),
)

ResourcePath = Annotated[
    str, Path(max_length=60, pattern=r"^[\w.-]+$", description="The resource's name.")
]


class TrashedRow(BaseModel):
    """A row in the trash: which, who deleted it and when."""

    id: int
    label: str
    deleted_at: datetime
    deleted_by: str | None


async def get_trash(
    resource: ResourcePath, session: SessionDep, caller: CallerDep, office: OfficeDep
) -> TrashService:
    return office.trash(resource, session, caller)


TrashDep = Annotated[TrashService, Depends(get_trash)]


def _row(obj: Any) -> TrashedRow:
    return TrashedRow(
        id=sa_inspect(obj).identity[0],
        label=describe(obj),
        deleted_at=obj.deleted_at,
        deleted_by=obj.deleted_by,
    )


@router.get("/", response_model=Page[TrashedRow], responses=problem_responses(422))
async def list_trash(
    trash: TrashDep,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page[TrashedRow]:
    """The resource's rows in the trash, last deleted first."""
    found = await trash.list(skip=skip, limit=limit)
    return Page[TrashedRow](
        items=[_row(obj) for obj in found.items],
        total=found.total,
        total_is_exact=found.total_is_exact,
        skip=found.skip,
        limit=found.limit,
    )


@router.post("/{id}/restore", response_model=dict[str, Any], responses=problem_responses(409))
async def restore_from_trash(trash: TrashDep, id: IdPath) -> dict[str, Any]:
    """Take the row out of the trash, as it was; answers the row as the resource shows it."""
    obj = await trash.restore(id)
    public = trash.resource.public_schema.model_validate(obj, from_attributes=True)
    return public.model_dump(mode="json")


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(409))
async def purge_from_trash(trash: TrashDep, id: IdPath) -> Response:
    """Delete the row for good (its audit entry keeps its fields, never its secrets)."""
    await trash.purge(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

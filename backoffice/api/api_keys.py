"""``/api-keys``: create, list and revoke API keys. A key is shown once, in the creation's
answer; a request made with a key is refused here (keys are managed by people)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from backoffice.api.deps import CallerDep, IdPath, SessionDep, office_of
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.models import Page
from backoffice.models.api_keys import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from backoffice.models.common import MAX_ID
from backoffice.services.api_keys import API_KEY_SORT_FIELDS, ApiKeyService

router = APIRouter(prefix="/api-keys", tags=["api keys"], responses=problem_responses(401, 403))
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def get_api_key_service(
    request: Request, session: SessionDep, caller: CallerDep
) -> ApiKeyService:
    return office_of(request).api_keys(session, caller)


ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]


@router.post(
    "/",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 422),
)
async def create_api_key(
    data: ApiKeyCreate, keys: ApiKeyServiceDep, response: Response
) -> ApiKeyCreated:
    """A key for you (or, for a superuser, for ``user_id``) holding ``scopes``: permission
    codes its owner holds. ``expires_at`` is required, at most ``API_KEY_MAX_LIFETIME_DAYS``
    ahead. ``key`` is in this answer only: store it now."""
    created = await keys.create(data)
    response.headers.update(NO_STORE)
    return ApiKeyCreated.model_validate({**public(created.row).model_dump(), "key": created.key})


@router.get("/", response_model=Page[ApiKeyPublic], responses=problem_responses(422))
async def list_api_keys(
    keys: ApiKeyServiceDep,
    page: Annotated[PageQuery, Depends(page_query(API_KEY_SORT_FIELDS))],
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    active: Annotated[bool, Query(description="Only keys that still work.")] = False,
) -> Page[ApiKeyPublic]:
    """Your keys; a superuser's answer holds everyone's (``user_id`` narrows it)."""
    found = await keys.list(
        skip=page.skip, limit=page.limit, sort=page.sort, user_id=user_id, active_only=active
    )
    return Page[ApiKeyPublic](
        items=[public(row) for row in found.items],
        total=found.total,
        total_is_exact=found.total_is_exact,
        skip=found.skip,
        limit=found.limit,
    )


@router.get("/{key_id}", response_model=ApiKeyPublic, responses=problem_responses(404))
async def read_api_key(key_id: IdPath, keys: ApiKeyServiceDep) -> ApiKeyPublic:
    return public(await keys.get(key_id))


@router.delete(
    "/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def revoke_api_key(key_id: IdPath, keys: ApiKeyServiceDep) -> Response:
    """The key stops working at once. Revoking a revoked key answers 204 too."""
    await keys.revoke(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(row, from_attributes=True)

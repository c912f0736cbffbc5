"""``/posts``: posts for signed-in users; drafts are visible to their author and admins."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from backoffice.api.deps import IdPath, PostServiceDep
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.api.versions import IfMatch, tagged
from backoffice.models import Page, Post, PostCreate, PostPublic, PostUpdate
from backoffice.models.common import MAX_ID
from backoffice.services.posts import POST_SORT_FIELDS

router = APIRouter(prefix="/posts", tags=["posts"], responses=problem_responses(401, 403))


@router.get("/", response_model=Page[PostPublic], responses=problem_responses(422))
async def list_posts(
    posts: PostServiceDep,
    page: Annotated[PageQuery, Depends(page_query(POST_SORT_FIELDS))],
    author_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    published: Annotated[bool | None, Query()] = None,
) -> Page[Post]:
    """``sort``: id, title, created_at or updated_at; ``-`` for descending (default -created_at)."""
    return await posts.list(
        skip=page.skip,
        limit=page.limit,
        search=page.search,
        sort=page.sort,
        author_id=author_id,
        published=published,
    )


@router.post(
    "/",
    response_model=PostPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_post(data: PostCreate, posts: PostServiceDep) -> Post:
    return await posts.create(data)


@router.get("/{post_id}", response_model=PostPublic, responses=problem_responses(404))
async def read_post(post_id: IdPath, posts: PostServiceDep, response: Response) -> Post:
    """Its version is the ``ETag``."""
    return tagged(response, await posts.get(post_id))


@router.patch(
    "/{post_id}", response_model=PostPublic, responses=problem_responses(404, 412, 422, 428)
)
async def update_post(
    post_id: IdPath, data: PostUpdate, posts: PostServiceDep, version: IfMatch, response: Response
) -> Post:
    """The author or an admin; with ``If-Match``, only if the post is still at that version."""
    return tagged(response, await posts.update(post_id, data, version=version))


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 412, 428),
)
async def delete_post(post_id: IdPath, posts: PostServiceDep, version: IfMatch) -> Response:
    """The author or an admin."""
    await posts.delete(post_id, version=version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""The post admin: every write through ``PostService``."""

from typing import Any, ClassVar

from starlette.requests import Request
from wtforms import TextAreaField

from backoffice.admin.bulk import BulkActionView
from backoffice.models import Post, PostCreate, PostUpdate
from backoffice.services.posts import AUDIT_TYPE

EDITABLE = ["title", "body", "published"]


class PostAdmin(BulkActionView, model=Post):
    name = "Post"
    name_plural = "Posts"
    icon = "fa-solid fa-file-lines"
    permission_resource = "posts"
    audit_type = AUDIT_TYPE

    column_list: ClassVar[list[Any]] = [
        Post.id,
        Post.title,
        Post.published,
        Post.author,
        Post.created_at,
    ]
    column_details_list: ClassVar[list[Any]] = [
        Post.id,
        Post.title,
        Post.body,
        Post.published,
        Post.author,
        Post.created_at,
        Post.updated_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        Post.id: "ID",
        Post.title: "Title",
        Post.body: "Body",
        Post.published: "Published",
        Post.author_id: "Author",
        Post.author: "Author",
        Post.created_at: "Created",
        Post.updated_at: "Updated",
    }
    column_searchable_list: ClassVar[list[Any]] = [Post.title]
    column_sortable_list: ClassVar[list[Any]] = [Post.id, Post.title, Post.created_at]
    column_default_sort = (Post.created_at, True)
    form_columns: ClassVar[list[Any]] = [Post.title, Post.body, Post.published]
    form_overrides: ClassVar[dict[str, Any]] = {"body": TextAreaField}

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Post:
        payload = self.parse(PostCreate, data, EDITABLE)
        return await self.run(request, lambda s, c: self.office.posts(s, c).create(payload))

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Post:
        payload = self.parse(PostUpdate, data, EDITABLE)
        version = await self.form_version(request)
        return await self.run(
            request, lambda s, c: self.office.posts(s, c).update(int(pk), payload, version=version)
        )

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda s, c: self.office.posts(s, c).delete(int(pk)))

"""Every rule about posts: who sees drafts, who may change what.

Anyone signed in writes, changes and deletes their own posts; the ``posts.*`` permissions are
about other people's: ``view`` shows their drafts, ``add`` writes in their name, ``change`` and
``delete`` act on their posts."""

import builtins
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_
from sqlmodel import col

from backoffice.errors import InvalidInput, NotFound, PermissionDenied
from backoffice.models import Page, Post, PostCreate, PostUpdate, User
from backoffice.models.permissions import Action
from backoffice.services.audit import AuditService, snapshot
from backoffice.services.base import Service, like_pattern, parse_sort
from backoffice.services.trash import in_trash, move_to_trash
from backoffice.services.versions import check_current, claim

AUDIT_TYPE = "posts"
POST_SORT_FIELDS = frozenset({"id", "title", "created_at", "updated_at"})


class PostService(Service):
    model = Post
    """Its table (``Service.readable`` leaves out its rows in the trash)."""

    @property
    def audit(self) -> AuditService:
        return AuditService(self.session, self.caller)

    async def get(self, post_id: int) -> Post:
        """A post the caller may see: published, their own, or any with ``posts.view``."""
        post = await self.session.get(Post, post_id)
        if post is None or in_trash(post) or not await self._may_see(post):
            # A draft someone else wrote is reported as missing, not as forbidden.
            raise NotFound(f"Post {post_id} does not exist.")
        return post

    async def list(
        self,
        *,
        skip: int = 0,
        limit: int = 50,
        search: str | None = None,
        sort: str | None = None,
        author_id: int | None = None,
        published: bool | None = None,
    ) -> Page[Post]:
        order = parse_sort(sort, POST_SORT_FIELDS, "-created_at")
        conditions = await self.readable()
        if search:
            pattern = like_pattern(search.strip().lower())
            conditions.append(func.lower(col(Post.title)).like(pattern, escape="\\"))
        if author_id is not None:
            conditions.append(col(Post.author_id) == author_id)
        if published is not None:
            conditions.append(col(Post.published).is_(published))
        return await self.fetch_page(Post, conditions, order, skip=skip, limit=limit)

    async def create(self, data: PostCreate, *, author_id: int | None = None) -> Post:
        """A post by the caller, or (for admins and the operator) by ``author_id``."""
        if self.caller.via_api_key and not await self.may("posts", "add"):
            raise PermissionDenied("An API key needs the posts.add scope to write posts.")
        if author_id is None or author_id == self.caller.user_id:
            if self.caller.user_id is None:
                raise InvalidInput.single("author_id", "A post needs an author.")
            author_id = self.caller.user_id
        elif not await self.may("posts", "add"):
            raise PermissionDenied(
                "You need the posts.add permission to write in someone else's name."
            )
        elif await self.session.get(User, author_id) is None:
            raise InvalidInput.single("author_id", f"User {author_id} does not exist.")
        post = Post.model_validate(data, update={"author_id": author_id})
        self.session.add(post)
        await self.session.flush()
        await self.audit.created(AUDIT_TYPE, post)
        return post

    async def update(self, post_id: int, data: PostUpdate, *, version: int | None = None) -> Post:
        """Change a post; with ``version``, only if nobody has saved since (``Stale``)."""
        post = await self.get(post_id)
        await self._require_may("change", post)
        changes = {
            key: value
            for key, value in data.model_dump(exclude_unset=True).items()
            # these fields cannot be emptied to null
            if not (value is None and key in ("title", "body", "published"))
        }
        label = f"Post {post_id}"
        if all(getattr(post, key) == value for key, value in changes.items()):
            check_current(post, version, label)
            return post  # nothing to write: the version stays
        before = snapshot(post)
        await claim(self.session, post, version, label)
        for key, value in changes.items():
            setattr(post, key, value)
        self.session.add(post)
        await self.session.flush()
        await self.audit.updated(AUDIT_TYPE, post, before)
        return post

    async def delete(self, post_id: int, *, version: int | None = None) -> None:
        """Move a post to the trash (``services.trash``); with ``version``, only if nobody has
        saved since (``Stale``)."""
        post = await self.get(post_id)
        await self._require_may("delete", post)
        await move_to_trash(
            self.session,
            self.audit,
            post,
            audit_type=AUDIT_TYPE,
            label=f"Post {post_id}",
            version=version,
        )

    async def visible(self) -> builtins.list[ColumnElement[bool]]:
        """Published posts and the caller's own; every post with ``posts.view``."""
        if await self.may("posts", "view"):
            return []
        own = self.caller.own_id  # an API key sees what its scopes show, not its owner's drafts
        mine = col(Post.author_id) == own if own is not None else false()
        return [or_(col(Post.published).is_(True), mine)]

    async def permits(self, action: Action, obj: Any) -> bool:
        if not isinstance(obj, Post):
            return False
        if action == "view":
            return await self._may_see(obj)
        return self.caller.is_self(obj.author_id) or await self.may("posts", action)

    async def _may_see(self, post: Post) -> bool:
        if post.published or self.caller.is_self(post.author_id):
            return True
        return await self.may("posts", "view")

    async def _require_may(self, action: str, post: Post) -> None:
        if not self.caller.is_self(post.author_id) and not await self.may("posts", action):
            raise PermissionDenied(
                f"Only the author, or someone with the posts.{action} permission, may {action} "
                "this post."
            )

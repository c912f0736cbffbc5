"""The post: one field list, with the table model and its Create/Update/Public variants."""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ConfigDict, StrictBool, field_validator
from sqlmodel import Field, Relationship, SQLModel

from backoffice.models.common import (
    NO_NUL,
    created_at_field,
    deleted_at_field,
    deleted_by_field,
    documented,
    reject_nul,
    updated_at_field,
    version_field,
)

if TYPE_CHECKING:
    from backoffice.models.users import User

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 100_000


class PostBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH, schema_extra=documented(**NO_NUL))
    body: str = Field(default="", max_length=BODY_MAX_LENGTH, schema_extra=documented(**NO_NUL))
    # Strict: JSON true or false, not 0, 1 or "yes" (the schema says boolean).
    published: StrictBool = Field(default=False)

    @field_validator("title", "body")
    @classmethod
    def _text(cls, value: str) -> object:
        return reject_nul(value)


class Post(PostBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    version: int = version_field()
    deleted_at: datetime | None = deleted_at_field()
    deleted_by: str | None = deleted_by_field()
    # For the admin, which names the author (loaded with the page's rows); never implicitly.
    author: "User" = Relationship(sa_relationship_kwargs={"lazy": "raise_on_sql"})


class PostCreate(PostBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class PostUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=TITLE_MAX_LENGTH,
        schema_extra=documented(**NO_NUL),
    )
    body: str | None = Field(
        default=None, max_length=BODY_MAX_LENGTH, schema_extra=documented(**NO_NUL)
    )
    published: StrictBool | None = None

    @field_validator("title", "body")
    @classmethod
    def _text(cls, value: str | None) -> object:
        return reject_nul(value)


class PostPublic(PostBase):
    id: int
    author_id: int
    created_at: datetime
    updated_at: datetime

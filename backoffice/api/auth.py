"""``/auth``: exchanging credentials for a bearer token."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from backoffice.api.deps import AuthServiceDep
from backoffice.api.problems import problem_responses

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    """Seconds until the access token expires."""


@router.post("/login", response_model=Token, responses=problem_responses(401, 422))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthServiceDep
) -> Token:
    """OAuth2 password flow: ``username`` is the email or the username."""
    _, issued = await auth.login(form.username, form.password)
    return Token(access_token=issued.token, expires_in=issued.expires_in)

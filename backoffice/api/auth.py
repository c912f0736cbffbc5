"""``/auth``: tokens for credentials, refreshing and signing out, password reset."""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, EmailStr, Field

from backoffice.api.deps import AccessGrantDep, AuthServiceDep, OfficeDep, client_address
from backoffice.api.problems import problem_responses
from backoffice.models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from backoffice.models.users import EMAIL_MAX_LENGTH
from backoffice.services.auth import TokenPair
from backoffice.services.second_step import Answer, PendingSignIn

router = APIRouter(prefix="/auth", tags=["auth"])

RESET_ANSWER = "If an active account uses this address, a reset link is on its way."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    """Seconds until the access token expires."""
    refresh_token: str
    """Spend it at ``/auth/refresh`` for a new pair; it works once."""


class SecondFactorRequired(BaseModel):
    """The password was right; the account has a second factor. Send ``challenge`` with a
    code (or a passkey assertion) to ``/auth/login/second-factor`` within ``expires_in``
    seconds to get the tokens."""

    second_factor_required: Literal[True] = True
    challenge: str
    methods: list[Literal["totp", "passkey", "recovery_code"]]
    expires_in: int


class PasskeyAssertion(BaseModel):
    ceremony: str = Field(min_length=1, max_length=200)
    """The ``ceremony`` of ``/auth/login/passkey-options``."""
    credential: dict[str, object]
    """``PublicKeyCredential.toJSON()`` of the browser's ``navigator.credentials.get``."""


class SecondFactorLogin(BaseModel):
    challenge: str = Field(min_length=1, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=40)
    """A code from the authenticator app, or a recovery code."""
    passkey: PasskeyAssertion | None = None


class ChallengeRequest(BaseModel):
    challenge: str = Field(min_length=1, max_length=200)


class PasskeyOptions(BaseModel):
    ceremony: str
    """Send it back with the browser's answer."""
    options: dict[str, object]
    """``PublicKeyCredentialRequestOptions`` as JSON (``parseRequestOptionsFromJSON``)."""


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class PasswordResetRequest(BaseModel):
    email: EmailStr = Field(max_length=EMAIL_MAX_LENGTH)


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=500)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class Accepted(BaseModel):
    detail: str


def _token(pair: TokenPair, response: Response) -> Token:
    response.headers.update(NO_STORE)  # RFC 6749: token responses must not be cached
    return Token(
        access_token=pair.access.token,
        expires_in=pair.access.expires_in,
        refresh_token=pair.refresh_token,
    )


async def login_form(
    username: Annotated[str, Form(min_length=1, max_length=EMAIL_MAX_LENGTH)],
    password: Annotated[str, Form(min_length=1, max_length=PASSWORD_MAX_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form(max_length=1000)] = "",
    client_id: Annotated[str | None, Form(max_length=200)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> OAuth2PasswordRequestForm:
    """OAuth2's password form, with the lengths our accounts allow stated in the schema. A
    function, not a class: FastAPI runs a class dependency in a worker thread, a hop that every
    sign-in would pay."""
    return OAuth2PasswordRequestForm(
        grant_type=grant_type,
        username=username,
        password=password,
        scope=scope,
        client_id=client_id,
        client_secret=client_secret,
    )


@router.post(
    "/login",
    response_model=Token | SecondFactorRequired,
    responses=problem_responses(401, 422, 429),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends(login_form)],
    auth: AuthServiceDep,
    request: Request,
    response: Response,
) -> Token | SecondFactorRequired:
    """OAuth2 password flow: ``username`` is the email or the username. Repeated failures for
    one account or from one address answer 429 with ``Retry-After``.

    Step one of two for an account with a second factor: the answer is then a short-lived,
    single-use ``challenge`` instead of tokens; send it to ``/auth/login/second-factor``."""
    result = await auth.login(
        form.username,
        form.password,
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    if isinstance(result, PendingSignIn):
        response.headers.update(NO_STORE)
        return SecondFactorRequired(
            challenge=result.challenge,
            methods=result.methods,
            expires_in=result.expires_in,
        )
    return _token(result, response)


@router.post(
    "/login/second-factor", response_model=Token, responses=problem_responses(401, 422, 429)
)
async def login_second_factor(
    data: SecondFactorLogin, auth: AuthServiceDep, request: Request, response: Response
) -> Token:
    """Step two: the ``challenge`` of ``/auth/login`` with a ``code`` (authenticator app or
    recovery code) or a ``passkey`` assertion gives the tokens. The challenge works once; a
    wrong code counts in the same throttle as a wrong password (429 with ``Retry-After``)."""
    passkey = data.passkey
    answer = Answer(
        code=data.code,
        passkey_ceremony=passkey.ceremony if passkey else None,
        passkey_credential=json.dumps(passkey.credential) if passkey else None,
    )
    pair = await auth.complete_login(
        data.challenge,
        answer,
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    return _token(pair, response)


@router.post(
    "/login/passkey-options", response_model=PasskeyOptions, responses=problem_responses(401, 422)
)
async def login_passkey_options(data: ChallengeRequest, auth: AuthServiceDep) -> PasskeyOptions:
    """For step two with a passkey: options for the browser's ``navigator.credentials.get``."""
    options, ceremony = await auth.second_step.passkey_options(data.challenge)
    return PasskeyOptions(ceremony=ceremony, options=json.loads(options))


@router.post("/refresh", response_model=Token, responses=problem_responses(401, 422))
async def refresh(data: RefreshRequest, auth: AuthServiceDep, response: Response) -> Token:
    """A new access token and a new refresh token; the one sent is spent. Sending a spent one
    again signs out every token descended from the same login."""
    return _token(await auth.refresh(data.refresh_token), response)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 422)
)
async def logout(
    grant: AccessGrantDep, auth: AuthServiceDep, data: LogoutRequest | None = None
) -> Response:
    """The access token stops working now; the refresh token (if sent) and its family too."""
    await auth.logout(grant, data.refresh_token if data else None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(422, 429),
)
async def request_password_reset(
    data: PasswordResetRequest,
    auth: AuthServiceDep,
    office: OfficeDep,
    tasks: BackgroundTasks,
    request: Request,
) -> Accepted:
    """Always the same answer; mail goes only to an active account, after the response, and
    at most a few an hour to one address. Too many requests from one client address answer 429
    with ``Retry-After``."""
    mail = await auth.request_password_reset(
        data.email, reset_page=office.settings.reset_page_path, address=client_address(request)
    )
    if mail is not None:
        tasks.add_task(office.mailer.deliver, mail)
    return Accepted(detail=RESET_ANSWER)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
)
async def confirm_password_reset(data: PasswordResetConfirm, auth: AuthServiceDep) -> Response:
    """Set the new password; every token and session of the account ends."""
    await auth.reset_password(data.token, data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

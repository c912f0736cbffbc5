"""``/auth/second-factors`` and ``/auth/sessions``: one's own sign-in security, and a
superuser's ``/users/{id}/second-factors`` and ``/users/{id}/sessions`` for a lost phone."""

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from backoffice.api.auth import NO_STORE, PasskeyOptions
from backoffice.api.deps import CallerDep, IdPath, SessionDep, office_of
from backoffice.api.problems import problem_responses
from backoffice.services.base import Caller
from backoffice.services.factors import SecondFactorService
from backoffice.services.passkeys import PasskeyService
from backoffice.services.sessions import Current, SessionService

router = APIRouter(tags=["security"])
AUTH = problem_responses(401, 403)


async def get_factors(
    request: Request, session: SessionDep, caller: CallerDep
) -> SecondFactorService:
    return SecondFactorService(session, caller, office_of(request).settings)


async def get_passkeys(request: Request, session: SessionDep, caller: CallerDep) -> PasskeyService:
    return PasskeyService(session, caller, office_of(request).settings)


async def get_sessions(session: SessionDep, caller: CallerDep) -> SessionService:
    return SessionService(session, caller)


FactorsDep = Annotated[SecondFactorService, Depends(get_factors)]
PasskeysDep = Annotated[PasskeyService, Depends(get_passkeys)]
SessionsDep = Annotated[SessionService, Depends(get_sessions)]


class PasskeyPublic(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class SecondFactors(BaseModel):
    totp: bool
    """An authenticator app is set up (and confirmed)."""
    totp_pending: bool
    """Enrolment started and waits for its first code."""
    recovery_codes_left: int
    passkeys: list[PasskeyPublic]
    required: bool
    """The policy asks this account for a second factor."""


class TotpSetup(BaseModel):
    """Shown once: enter ``secret`` (or scan the QR code) in the app, then confirm a code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=40)


class RecoveryCodes(BaseModel):
    """Shown once: each works once, in place of a code from the app."""

    recovery_codes: list[str]


class NewPasskey(BaseModel):
    ceremony: str = Field(min_length=1, max_length=200)
    credential: dict[str, object]
    """``PublicKeyCredential.toJSON()`` of ``navigator.credentials.create``."""
    name: str = Field(min_length=1, max_length=100)


class SessionPublic(BaseModel):
    id: str
    kind: Literal["admin", "api"]
    started_at: datetime
    last_used_at: datetime
    address: str | None
    user_agent: str | None
    current: bool


class Ended(BaseModel):
    ended: int


def _current(caller: Caller) -> Current:
    return Current(family=caller.refresh_family)


@router.get("/auth/second-factors", response_model=SecondFactors, responses=AUTH)
async def second_factors(factors: FactorsDep) -> SecondFactors:
    overview = await factors.overview()
    return SecondFactors(
        totp=overview.totp,
        totp_pending=overview.totp_pending,
        recovery_codes_left=overview.recovery_codes_left,
        passkeys=[PasskeyPublic.model_validate(p, from_attributes=True) for p in overview.passkeys],
        required=overview.required,
    )


@router.post(
    "/auth/second-factors/totp",
    response_model=TotpSetup,
    responses={**AUTH, **problem_responses(409)},
)
async def start_totp(factors: FactorsDep, response: Response) -> TotpSetup:
    """Start setting up an authenticator app; it counts once a first code is confirmed."""
    setup = await factors.start_totp()
    response.headers.update(NO_STORE)
    return TotpSetup(secret=setup.secret, otpauth_uri=setup.uri, qr_svg=setup.qr_svg)


@router.post(
    "/auth/second-factors/totp/confirm",
    response_model=RecoveryCodes,
    responses={**AUTH, **problem_responses(409, 422)},
)
async def confirm_totp(data: CodeRequest, factors: FactorsDep, response: Response) -> RecoveryCodes:
    codes = await factors.confirm_totp(data.code)
    response.headers.update(NO_STORE)
    return RecoveryCodes(recovery_codes=codes)


@router.delete(
    "/auth/second-factors/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(404, 409)},
)
async def remove_totp(factors: FactorsDep) -> Response:
    await factors.remove_totp()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/second-factors/recovery-codes",
    response_model=RecoveryCodes,
    responses={**AUTH, **problem_responses(409)},
)
async def regenerate_recovery_codes(factors: FactorsDep, response: Response) -> RecoveryCodes:
    """Ten new recovery codes; the old ones stop working."""
    codes = await factors.regenerate_recovery_codes()
    response.headers.update(NO_STORE)
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/auth/second-factors/passkeys/options",
    response_model=PasskeyOptions,
    responses={**AUTH, **problem_responses(422)},
)
async def passkey_registration_options(passkeys: PasskeysDep) -> PasskeyOptions:
    """Options for ``navigator.credentials.create`` (``parseCreationOptionsFromJSON``)."""
    options, ceremony = await passkeys.registration_options()
    return PasskeyOptions(ceremony=ceremony, options=json.loads(options))


@router.post(
    "/auth/second-factors/passkeys",
    response_model=PasskeyPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**AUTH, **problem_responses(401, 422)},
)
async def add_passkey(data: NewPasskey, passkeys: PasskeysDep) -> PasskeyPublic:
    passkey = await passkeys.register(data.ceremony, json.dumps(data.credential), data.name)
    return PasskeyPublic.model_validate(passkey, from_attributes=True)


@router.delete(
    "/auth/second-factors/passkeys/{passkey_id:int}",  # not .../options (POST)
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(404, 409)},
)
async def remove_passkey(passkey_id: IdPath, passkeys: PasskeysDep) -> Response:
    await passkeys.remove(passkey_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/sessions", response_model=list[SessionPublic], responses=AUTH)
async def my_sessions(sessions: SessionsDep, caller: CallerDep) -> list[SessionPublic]:
    """Your admin sessions and API sign-ins; ``current`` marks the one you are using."""
    found = await sessions.list(current=_current(caller))
    return [SessionPublic.model_validate(s, from_attributes=True) for s in found]


@router.delete(
    "/auth/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(404)},
)
async def end_session(
    session_id: Annotated[str, Field(max_length=40)], sessions: SessionsDep
) -> Response:
    await sessions.end(session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/sessions/end-others", response_model=Ended, responses=AUTH)
async def end_other_sessions(sessions: SessionsDep, caller: CallerDep) -> Ended:
    """Sign out everywhere else: every session but the one this token belongs to ends."""
    return Ended(ended=await sessions.end_others(_current(caller)))


@router.get(
    "/users/{user_id}/sessions",
    response_model=list[SessionPublic],
    responses={**AUTH, **problem_responses(404)},
)
async def user_sessions(user_id: IdPath, sessions: SessionsDep) -> list[SessionPublic]:
    """A superuser sees another user's sessions."""
    found = await sessions.list(user_id)
    return [SessionPublic.model_validate(s, from_attributes=True) for s in found]


@router.delete(
    "/users/{user_id}/sessions", response_model=Ended, responses={**AUTH, **problem_responses(404)}
)
async def end_user_sessions(user_id: IdPath, sessions: SessionsDep) -> Ended:
    """A superuser ends every session and token of another user (audited)."""
    return Ended(ended=await sessions.end_all(user_id))


@router.delete(
    "/users/{user_id}/second-factors",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(404)},
)
async def remove_user_factors(user_id: IdPath, factors: FactorsDep) -> Response:
    """A lost phone: a superuser removes every second factor of a user; their sessions and
    tokens end, and the audit log records it. They set up a new one at their next sign-in."""
    await factors.remove_all(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

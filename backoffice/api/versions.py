"""Record versions over HTTP: ``ETag`` out, ``If-Match`` in (``services.versions``).

A ``GET`` (and a ``PATCH``'s answer) carries the row's version as a strong ``ETag``, ``"3"``. A
write naming it in ``If-Match`` is applied only if the row is still at that version, else 412
with the current one. Without ``If-Match`` the write is made (last save wins) unless the
``REQUIRE_IF_MATCH`` setting says otherwise: then 428.
"""

import re
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Response

from backoffice.api.deps import OfficeDep
from backoffice.services.versions import version_of

T = TypeVar("T")
_TAG = re.compile(r'^\s*(?:"(\d{1,9})"|(\d{1,9}))\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


async def if_match(
    office: OfficeDep,
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description=(
                'The version read (the ETag of GET, e.g. "3"): the write is made only if the '
                "record is still at it, else 412 with the current one."
            ),
        ),
    ] = None,
) -> int | None:
    """The version ``If-Match`` names; None without one (or ``*``: any version)."""
    if header is None:
        if office.settings.require_if_match:
            raise HTTPException(
                status_code=428,
                detail='Send If-Match with the ETag of the record you read (e.g. If-Match: "3").',
            )
        return None
    if header.strip() == "*":
        return None
    found = _TAG.match(header)
    if found is None:  # names no version, so no version matches it (RFC 9110: 412)
        raise HTTPException(
            status_code=412,
            detail='If-Match names no version: send the ETag you read, e.g. If-Match: "3".',
        )
    return int(found.group(1) or found.group(2))


IfMatch = Annotated[int | None, Depends(if_match)]


def tagged(response: Response, obj: T) -> T:
    """``obj``, with its version as the response's ``ETag`` (for a versioned row)."""
    version = version_of(obj)
    if version is not None:
        response.headers["ETag"] = etag(version)
    return obj

"""A bulk action's confirmation page shows the exact change per row, or why a row would be
refused, and changes nothing; its POST does exactly those rows, each only if still at the
version shown."""

import re

from sqlalchemy import func
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import AuditEntry, UserUpdate
from backoffice.services import Caller
from backoffice.services.users import LAST_SUPERUSER
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.admin.test_bulk import report, unescape, user_state
from tests.conftest import Account, make_user

_PREVIEW = re.compile(
    r'<tr class="bulk-row" data-pk="(\d+)" data-preview="(\w+)">.*?'
    r'<td class="bulk-preview">\s*(.*?)\s*</td>',
    re.S,
)
DEACTIVATE = "/admin/user/bulk/deactivate_selected"


def preview(html: str) -> dict[int, tuple[str, str]]:
    """pk -> (outcome, what the page says would happen)."""
    return {
        int(pk): (outcome, unescape(" ".join(re.sub(r"<[^>]+>", " ", text).split())))
        for pk, outcome, text in _PREVIEW.findall(html)
    }


def shown_selection(html: str) -> str:
    found = re.search(r'name="pks" value="([^"]*)"', html)
    assert found
    return found.group(1)


async def audit_count(office: BackOffice) -> int:
    async with office.session() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_the_preview_lists_each_rows_change_and_refusal_and_changes_nothing(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account, alice: Account
) -> None:
    bob = await make_user(office, "bob", is_active=False)
    entries = await audit_count(office)
    page = await signed_in.client.get(
        DEACTIVATE, params={"pks": f"{superuser.id},{alice.id},{bob.id}"}
    )
    assert page.status_code == 200, page.text
    rows = preview(page.text)
    assert rows[alice.id] == ("changed", "is active : True → False")
    assert rows[superuser.id][0] == "refused"
    assert LAST_SUPERUSER in rows[superuser.id][1]
    assert rows[bob.id] == ("unchanged", "No change: it is already so")
    assert "2 of 3 rows would be changed; 1 would be refused." in page.text
    # The rehearsal was rolled back: no row, no audit entry changed.
    alice_now = await user_state(office, alice.id)
    assert alice_now is not None and alice_now.is_active and alice_now.version == 1
    assert await audit_count(office) == entries
    # The form carries every row with the version it was shown at.
    assert shown_selection(page.text) == f"{superuser.id}:1,{alice.id}:1,{bob.id}:1"


async def test_the_preview_sees_the_rows_before_it_two_superusers_one_refused(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    """Each row is rehearsed after the ones before it, as the POST will do them: of two
    active superusers, the second one deactivated would be the last."""
    other = await make_user(office, "other", is_staff=True, is_superuser=True)
    page = await signed_in.client.get(DEACTIVATE, params={"pks": f"{other.id},{superuser.id}"})
    rows = preview(page.text)
    assert rows[other.id] == ("changed", "is active : True → False")
    assert rows[superuser.id][0] == "refused"
    result = await signed_in.client.post(
        DEACTIVATE,
        data={"pks": shown_selection(page.text), "csrf_token": csrf_token(page.text)},
    )
    done = report(result.text)
    assert done[other.id] == ("done", "Deactivated")
    assert done[superuser.id][0] == "refused" and LAST_SUPERUSER in unescape(done[superuser.id][1])


async def test_the_post_skips_a_row_changed_since_the_preview(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account, alice: Account
) -> None:
    bob = await make_user(office, "bob")
    page = await signed_in.client.get(DEACTIVATE, params={"pks": f"{alice.id},{bob.id}"})
    assert preview(page.text)[bob.id][0] == "changed"
    # Someone edits bob after the preview was shown.
    async with office.session() as session:
        await office.users(session, Caller.operator("system")).update(
            bob.id, UserUpdate(full_name="Robert")
        )
    result = await signed_in.client.post(
        DEACTIVATE,
        data={"pks": shown_selection(page.text), "csrf_token": csrf_token(page.text)},
    )
    rows = report(result.text)
    assert rows[alice.id] == ("done", "Deactivated")
    outcome, message = rows[bob.id]
    assert outcome == "refused"
    assert "since version 1 was shown" in message and "now at version 2" in message
    bob_now = await user_state(office, bob.id)
    assert bob_now is not None and bob_now.is_active and bob_now.full_name == "Robert"


async def test_a_delete_preview_names_the_rows_and_deletes_nothing(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account, alice: Account
) -> None:
    page = await signed_in.client.get(
        "/admin/user/bulk/delete_selected", params={"pks": f"{alice.id},{superuser.id}"}
    )
    rows = preview(page.text)
    assert rows[alice.id] == ("deleted", "Deleted")
    assert rows[superuser.id][0] == "refused"
    assert await user_state(office, alice.id) is not None

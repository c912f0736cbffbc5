"""The audit log in the admin: read-only, searchable, filterable."""

from typing import Any, ClassVar

from sqladmin.filters import AllUniqueStringValuesFilter
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from backoffice.admin.formatting import changes_list
from backoffice.admin.views import ServiceModelView
from backoffice.models import AuditEntry
from backoffice.services import Caller
from backoffice.services.audit import AuditService


class AuditEntryAdmin(ServiceModelView, model=AuditEntry):
    name = "Audit entry"
    name_plural = "Audit log"
    icon = "fa-solid fa-clock-rotate-left"
    permission_resource = "audit"

    can_create = False
    can_edit = False
    can_delete = False

    column_list: ClassVar[list[Any]] = [
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.door,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.object_repr,
    ]
    column_export_list: ClassVar[list[Any]] = [
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor_id,
        AuditEntry.actor,
        AuditEntry.door,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.object_repr,
        AuditEntry.changes,
        AuditEntry.unit,
    ]
    column_searchable_list: ClassVar[list[Any]] = [
        AuditEntry.actor,
        AuditEntry.object_repr,
        AuditEntry.object_id,
    ]
    column_sortable_list: ClassVar[list[Any]] = [AuditEntry.at, AuditEntry.id]
    column_default_sort = (AuditEntry.id, True)
    column_filters: ClassVar[list[Any]] = [
        AllUniqueStringValuesFilter(AuditEntry.door),
        AllUniqueStringValuesFilter(AuditEntry.object_type),
        AllUniqueStringValuesFilter(AuditEntry.action),
        AllUniqueStringValuesFilter(AuditEntry.actor, title="Name then"),
    ]
    column_formatters: ClassVar[dict[Any, Any]] = {AuditEntry.actor: lambda m, a: m.who}
    """"Who" is the account by id and its current name (``AuditEntry.who``), never the bare
    name it had then: names change and are reused."""
    column_formatters_detail: ClassVar[dict[Any, Any]] = {
        **column_formatters,
        AuditEntry.changes: lambda m, a: changes_list(m.changes),
    }
    """The change as the History page shows it (``field: before → after``), not a raw dict."""
    column_details_list: ClassVar[list[Any]] = [
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.door,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.object_repr,
        AuditEntry.changes,
        AuditEntry.unit,
        AuditEntry.id,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        AuditEntry.at: "When",
        AuditEntry.actor: "Who",
        AuditEntry.door: "Door",
        AuditEntry.action: "Action",
        AuditEntry.object_type: "Type",
        AuditEntry.object_id: "ID",
        AuditEntry.object_repr: "Object",
        AuditEntry.changes: "Changes",
        AuditEntry.actor_id: "Who (account ID)",
        AuditEntry.id: "Entry ID",
        AuditEntry.unit: "Request (unit of work)",
    }

    async def unit_size(self, request: Request, entry: AuditEntry) -> int:
        """For the entry's page: how many entries its unit wrote (its revert buttons)."""
        if not entry.unit:
            return 0
        async with self.office.session() as session:
            sizes = await AuditService(session, self.caller(request)).unit_sizes([entry.unit])
        return sizes.get(entry.unit, 0)

    def bulk_row_label(self, obj: Any) -> str:
        return f"{obj.action} {obj.object_type} {obj.object_id}"

    def read_service(self, session: AsyncSession, caller: Caller) -> AuditService:
        """The audit log's own service decides what of it the caller sees."""
        return AuditService(session, caller)

"""The audit log in the admin: read-only, searchable, filterable."""

from typing import Any, ClassVar

from sqladmin.filters import AllUniqueStringValuesFilter
from sqlmodel.ext.asyncio.session import AsyncSession

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
        AuditEntry.actor,
        AuditEntry.door,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.object_repr,
        AuditEntry.changes,
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
        AllUniqueStringValuesFilter(AuditEntry.actor),
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
    }

    def read_service(self, session: AsyncSession, caller: Caller) -> AuditService:
        """The audit log's own service decides what of it the caller sees."""
        return AuditService(session, caller)

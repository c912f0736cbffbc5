"""Misconfigured registrations fail at once, naming the model and the option."""

from typing import Any, ClassVar

import pytest
from sqlmodel import Field, SQLModel

from backoffice import BackOffice, Settings
from backoffice.admin.resources import ResourceAdmin
from backoffice.registry import ImproperlyConfigured
from backoffice.services.actions import resource_action
from backoffice.services.resources import ResourceService
from examples.invoicing.models import Customer, CustomerCreate, CustomerPublic, CustomerUpdate


class Gadget(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    api_token: str = Field(max_length=64)


class GadgetCreate(SQLModel):
    name: str


class GadgetUpdate(SQLModel):
    name: str | None = None


class GadgetPublic(SQLModel):
    id: int
    name: str


class LeakyGadgetPublic(GadgetPublic):
    api_token: str


class NotATable(SQLModel):
    id: int


@pytest.fixture
def office(settings: Settings) -> BackOffice:
    return BackOffice(settings)


def register_gadget(office: BackOffice, **options: Any) -> Any:
    return office.register(Gadget, **options)


def test_a_model_registers_with_its_variants_found_by_name(office: BackOffice) -> None:
    resource = register_gadget(office)
    assert resource.name == "gadgets"
    assert (resource.create_schema, resource.public_schema) == (GadgetCreate, GadgetPublic)


def test_registering_a_model_twice_is_refused(office: BackOffice) -> None:
    register_gadget(office)
    with pytest.raises(ImproperlyConfigured, match=r"backoffice.E002: Gadget is registered twice"):
        register_gadget(office, name="more-gadgets")


def test_two_resources_with_one_name_are_refused(office: BackOffice) -> None:
    register_gadget(office, name="things")
    with pytest.raises(ImproperlyConfigured, match=r"E001: Customer: a resource named 'things'"):
        office.register(Customer, name="things")


def test_a_search_field_that_does_not_exist_is_named(office: BackOffice) -> None:
    class Service(ResourceService):
        search_fields: ClassVar[tuple[str, ...]] = ("title",)

    with pytest.raises(
        ImproperlyConfigured, match=r"E006: Gadget: Service.search_fields names 'title'"
    ):
        register_gadget(office, service=Service)


def test_a_public_variant_exposing_a_secret_is_refused(office: BackOffice) -> None:
    with pytest.raises(
        ImproperlyConfigured,
        match=r"E008: Gadget: the public variant LeakyGadgetPublic exposes api_token",
    ):
        register_gadget(office, public_schema=LeakyGadgetPublic)


def test_a_class_that_is_not_a_table_is_refused(office: BackOffice) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"E004: NotATable is not a table"):
        office.register(
            NotATable,  # type: ignore[arg-type]
            create_schema=GadgetCreate,
            update_schema=GadgetUpdate,
            public_schema=GadgetPublic,
        )


def test_a_missing_variant_is_named(office: BackOffice) -> None:
    class Orphan(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)

    with pytest.raises(ImproperlyConfigured, match=r"E003: Orphan: no Create variant"):
        office.register(Orphan)


def test_an_admin_option_naming_no_column_is_refused(office: BackOffice) -> None:
    class GadgetAdmin(ResourceAdmin):
        column_list: ClassVar[tuple[str, ...]] = ("id", "colour")

    with pytest.raises(
        ImproperlyConfigured, match=r"E010: Gadget: GadgetAdmin.column_list names 'colour'"
    ):
        register_gadget(office, admin=GadgetAdmin)


def test_registering_after_mount_is_refused(office: BackOffice) -> None:
    office.create_app()
    with pytest.raises(ImproperlyConfigured, match=r"E009: Gadget: registered after mount"):
        register_gadget(office)


def test_register_works_as_a_class_decorator(office: BackOffice) -> None:
    decorate = office.register(
        name="clients",
        create_schema=CustomerCreate,
        update_schema=CustomerUpdate,
        public_schema=CustomerPublic,
    )
    assert decorate(Customer) is Customer
    assert office.registry.get("clients").model is Customer


def test_the_built_in_resources_come_through_the_registry(office: BackOffice) -> None:
    assert [r.name for r in office.registry] == ["users", "posts", "groups"]


def test_an_action_named_like_a_service_method_is_refused(office: BackOffice) -> None:
    class Service(ResourceService):
        @resource_action("Update it")
        async def update(self, obj: Any) -> None:  # type: ignore[override]
            """Would replace the generic update."""

    with pytest.raises(ImproperlyConfigured, match=r"E011: Gadget: Service.update is declared"):
        register_gadget(office, service=Service)


def test_an_action_is_declared_with_a_short_audit_code_and_async() -> None:
    with pytest.raises(ValueError, match=r"audit code 'mark_returned' must be 1 to 10"):

        @resource_action("Mark returned")
        async def mark_returned(self: Any, obj: Any) -> None:
            """Too long a name for the audit log's action column."""

    @resource_action("Mark returned", audit="returned", done="Returned")
    async def mark_returned_short(self: Any, obj: Any) -> None:
        """A short code of its own."""

    class Service(ResourceService):
        mark_returned = mark_returned_short

    declared = Service.actions()["mark_returned"]
    assert (declared.name, declared.audit, declared.done) == (
        "mark_returned",
        "returned",
        "Returned",
    )

    def sync(self: Any, obj: Any) -> None:
        """Not awaitable."""

    with pytest.raises(TypeError, match=r"action 'sync' must be an async method"):
        resource_action("Sync")(sync)  # type: ignore[type-var]


def test_editing_options_naming_what_cannot_be_edited_are_refused(office: BackOffice) -> None:
    from backoffice.admin.inlines import InlineAdmin
    from examples.invoicing.models import InvoiceLine

    class KeyEditable(ResourceAdmin):
        list_editable: ClassVar[tuple[str, ...]] = ("id",)

    with pytest.raises(ImproperlyConfigured, match=r"E012: Gadget: KeyEditable.list_editable"):
        register_gadget(office, admin=KeyEditable)

    class Lines(InlineAdmin):
        model = InvoiceLine

    class GadgetWithLines(ResourceAdmin):
        inlines: ClassVar[tuple[type[InlineAdmin], ...]] = (Lines,)

    with pytest.raises(ImproperlyConfigured, match=r"E013: Gadget: GadgetWithLines.inlines"):
        register_gadget(office, admin=GadgetWithLines)

    class Grouped(ResourceAdmin):
        fieldsets: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (("Main", ("colour",)),)

    with pytest.raises(ImproperlyConfigured, match=r"E010: Gadget: Grouped.fieldsets"):
        register_gadget(office, admin=Grouped)


class GadgetPart(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=50)
    gadget_id: int = Field(foreign_key="gadget.id")  # no Relationship() over it


class GadgetPartCreate(SQLModel):
    label: str
    gadget_id: int


class GadgetPartUpdate(SQLModel):
    label: str | None = None


class GadgetPartPublic(SQLModel):
    id: int
    label: str


def test_a_foreign_key_the_admin_cannot_pick_is_named_at_start_up(
    office: BackOffice, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="backoffice.admin"):
        office.register(Customer, name="customers")  # its account_manager_id has a Relationship
        assert not [r for r in caplog.records if "W001" in r.getMessage()]
        office.register(GadgetPart)
    (warning,) = [r.getMessage() for r in caplog.records if "W001" in r.getMessage()]
    assert "GadgetPart.gadget_id is a foreign key to gadget" in warning
    assert "`gadget: Target | None = Relationship()`" in warning
    caplog.clear()
    with caplog.at_level("WARNING", logger="backoffice.admin"):
        BackOffice(office.settings).register(GadgetPart, admin=False)  # no admin, no warning
    assert not caplog.records

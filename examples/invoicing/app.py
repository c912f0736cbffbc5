"""The host application: its own routes, plus backoffice for users, auth, admin and CRUD."""

from fastapi import FastAPI

from backoffice import BackOffice, Settings
from examples.invoicing.admin import CustomerAdmin, InvoiceAdmin, InvoiceLineAdmin
from examples.invoicing.models import Customer, Invoice, InvoiceLine
from examples.invoicing.services import CustomerService, InvoiceLineService, InvoiceService


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="Invoicing")

    @app.get("/")
    async def home() -> dict[str, str]:
        return {"app": "invoicing", "admin": "/admin/", "api": "/docs"}

    office = BackOffice(settings or Settings())
    office.register(Customer, name="customers", service=CustomerService, admin=CustomerAdmin)
    office.register(Invoice, name="invoices", service=InvoiceService, admin=InvoiceAdmin)
    office.register(
        InvoiceLine,
        name="invoice_lines",
        label="Invoice line",
        service=InvoiceLineService,
        admin=InvoiceLineAdmin,
    )
    office.mount(app)
    return app

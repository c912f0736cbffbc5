"""How a page names a row it has no ``__str__`` for (``admin.reads.object_label``)."""

from enum import Enum

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backoffice.admin.reads import object_label


class LoanStatus(str, Enum):  # the pre-3.11 idiom, whose str() is "LoanStatus.active"  # noqa: UP042
    active = "active"
    returned = "returned"


class _Base(DeclarativeBase):  # a registry of its own: nothing joins the app's metadata
    pass


class Loan(_Base):
    __tablename__ = "label_loan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[LoanStatus] = mapped_column(SAEnum(LoanStatus))
    password: Mapped[str | None] = mapped_column(String(200))


def test_an_enum_column_names_the_row_by_its_value_not_its_python_name() -> None:
    # str(): what a template prints (a member compares equal to its value, so == alone can't tell)
    assert str(object_label(Loan(id=5, note=None, status=LoanStatus.active))) == "active"
    assert str(object_label(Loan(id=5, note="  ", status=LoanStatus.returned))) == "returned"


def test_a_text_column_comes_first_and_a_secret_never() -> None:
    assert object_label(Loan(id=5, note="Two weeks", status=LoanStatus.active)) == "Two weeks"
    loan = Loan(id=5, note=None, status=LoanStatus.active, password="hunter2")
    assert str(object_label(loan, columns=["password", "status"])) == "active"

"""Typed row builders for bulk loading: one method per table, rows collected per table name.

Both the synthetic generator and the hand-made showcase enterprises write through
:class:`BatchBuilder`, so every row is built with the same keyword arguments the tables need, and
:meth:`consentledger.bureau.store.BureauStore.bulk_insert` writes the batches with Core
``insert()`` executemany. Amounts are integer fen; months are month indexes (see
:func:`consentledger.bureau.documents.month_index`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from consentledger.bureau.documents import month_start
from consentledger.bureau.models import (
    AdministrativeRecord,
    AnnualReport,
    Arrears,
    CourtRecord,
    CustomsRegistration,
    CustomsYear,
    DataSource,
    Enterprise,
    FinancialStatement,
    HighTechCertificate,
    IntellectualProperty,
    MonthlyFigures,
    Shareholder,
    TaxYear,
)
from consentledger.categories import Category

Row = dict[str, Any]

_ENTERPRISE = Enterprise.__tablename__
_SHAREHOLDER = Shareholder.__tablename__
_MONTHLY = MonthlyFigures.__tablename__
_ARREARS = Arrears.__tablename__
_TAX_YEAR = TaxYear.__tablename__
_CERTIFICATE = HighTechCertificate.__tablename__
_IP = IntellectualProperty.__tablename__
_COURT = CourtRecord.__tablename__
_ADMIN = AdministrativeRecord.__tablename__
_CUSTOMS = CustomsRegistration.__tablename__
_CUSTOMS_YEAR = CustomsYear.__tablename__
_STATEMENT = FinancialStatement.__tablename__
_ANNUAL_REPORT = AnnualReport.__tablename__
_SOURCE = DataSource.__tablename__


class BatchBuilder:
    """Collects rows for the bureau's tables; :meth:`take` hands them over and starts afresh."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {}
        self.enterprises = 0
        self.next_id = 1
        self._months: dict[int, date] = {}

    def _add(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)

    def take(self) -> dict[str, list[Row]]:
        """The collected rows by table name; the builder is empty afterwards."""
        rows, self.rows, self.enterprises = self.rows, {}, 0
        return rows

    def data_source(self, category: Category, department: str, as_of: date) -> None:
        """Who supplies ``category`` and the date its data is current to."""
        self._add(_SOURCE, {"category": category.value, "department": department, "as_of": as_of})

    def enterprise(
        self,
        *,
        uscc: str,
        name: str,
        legal_representative: str,
        registered_capital_fen: int,
        founded: date,
        status: str,
        industry_code: str,
        district_code: str,
        address: str,
    ) -> int:
        """A business registration; returns the enterprise's id for its other rows."""
        enterprise_id = self.next_id
        self.next_id += 1
        self.enterprises += 1
        self._add(
            _ENTERPRISE,
            {
                "id": enterprise_id,
                "uscc": uscc,
                "name": name,
                "legal_representative": legal_representative,
                "registered_capital_fen": registered_capital_fen,
                "founded": founded,
                "status": status,
                "industry_code": industry_code,
                "district_code": district_code,
                "address": address,
            },
        )
        return enterprise_id

    def shareholder(
        self, *, enterprise: int, seq: int, name: str, kind: str, subscribed_capital_fen: int
    ) -> None:
        """A shareholder (``kind``: ``natural_person`` or ``enterprise``)."""
        self._add(
            _SHAREHOLDER,
            {
                "enterprise_id": enterprise,
                "seq": seq,
                "name": name,
                "kind": kind,
                "subscribed_capital_fen": subscribed_capital_fen,
            },
        )

    def monthly(
        self,
        *,
        enterprise: int,
        month: int,
        insured_headcount: int | None,
        housing_fund_headcount: int | None,
        tax_paid_fen: int | None,
        water_fen: int | None,
        water_on_time: bool | None,
        power_fen: int | None,
        power_on_time: bool | None,
        gas_fen: int | None,
        gas_on_time: bool | None,
    ) -> None:
        """One enterprise-month of figures (``month`` is a month index)."""
        first_day = self._months.get(month)
        if first_day is None:
            first_day = self._months[month] = month_start(month)
        self._add(
            _MONTHLY,
            {
                "enterprise_id": enterprise,
                "month": first_day,
                "insured_headcount": insured_headcount,
                "housing_fund_headcount": housing_fund_headcount,
                "tax_paid_fen": tax_paid_fen,
                "water_fen": water_fen,
                "water_on_time": water_on_time,
                "power_fen": power_fen,
                "power_on_time": power_on_time,
                "gas_fen": gas_fen,
                "gas_on_time": gas_on_time,
            },
        )

    def monthly_series(
        self,
        *,
        enterprise: int,
        first_month: int,
        insured_headcount: Sequence[int],
        housing_fund_headcount: Sequence[int] | None,
        tax_paid_fen: Sequence[int] | None,
        water_fen: Sequence[int] | None,
        water_on_time: Sequence[bool] | None,
        power_fen: Sequence[int] | None,
        power_on_time: Sequence[bool] | None,
        gas_fen: Sequence[int] | None,
        gas_on_time: Sequence[bool] | None,
    ) -> None:
        """Consecutive months from ``first_month``, one value per month in each series.

        The series are as long as ``insured_headcount``; a series given as None is NULL in
        every month. The bulk path of the generator: equivalent to calling :meth:`monthly`
        once per month.
        """
        count = len(insured_headcount)
        nulls: list[None] = [None] * count
        series = (
            housing_fund_headcount,
            tax_paid_fen,
            water_fen,
            water_on_time,
            power_fen,
            power_on_time,
            gas_fen,
            gas_on_time,
        )
        if any(s is not None and len(s) != count for s in series):
            raise ValueError("every monthly series must have one value per month")
        months = self._months
        for month in range(first_month, first_month + count):
            if month not in months:
                months[month] = month_start(month)
        self.rows.setdefault(_MONTHLY, []).extend(
            {
                "enterprise_id": enterprise,
                "month": months[first_month + k],
                "insured_headcount": heads,
                "housing_fund_headcount": housing,
                "tax_paid_fen": tax,
                "water_fen": water,
                "water_on_time": water_ok,
                "power_fen": power,
                "power_on_time": power_ok,
                "gas_fen": gas,
                "gas_on_time": gas_ok,
            }
            for k, (
                heads,
                housing,
                tax,
                water,
                water_ok,
                power,
                power_ok,
                gas,
                gas_ok,
            ) in enumerate(
                zip(
                    insured_headcount,
                    housing_fund_headcount or nulls,
                    tax_paid_fen or nulls,
                    water_fen or nulls,
                    water_on_time or nulls,
                    power_fen or nulls,
                    power_on_time or nulls,
                    gas_fen or nulls,
                    gas_on_time or nulls,
                    strict=True,
                )
            )
        )

    def arrears(self, *, enterprise: int, category: Category, amount_fen: int, since: date) -> None:
        """Arrears owed to the department of ``category`` (2, 4 or 5)."""
        self._add(
            _ARREARS,
            {
                "enterprise_id": enterprise,
                "category": category.value,
                "amount_fen": amount_fen,
                "since": since,
            },
        )

    def tax_year(
        self,
        *,
        enterprise: int,
        year: int,
        credit_grade: str,
        taxable_revenue_fen: int,
        employees: int | None = None,
        total_assets_fen: int | None = None,
    ) -> None:
        """A tax year's credit grade and taxable revenue, with the income tax annual return's
        headcount and total assets where a return was filed."""
        self._add(
            _TAX_YEAR,
            {
                "enterprise_id": enterprise,
                "year": year,
                "credit_grade": credit_grade,
                "taxable_revenue_fen": taxable_revenue_fen,
                "employees": employees,
                "total_assets_fen": total_assets_fen,
            },
        )

    def annual_report(
        self, *, enterprise: int, year: int, employees: int, total_assets_fen: int, revenue_fen: int
    ) -> None:
        """An annual report to the market regulator (企业年度报告)."""
        self._add(
            _ANNUAL_REPORT,
            {
                "enterprise_id": enterprise,
                "year": year,
                "employees": employees,
                "total_assets_fen": total_assets_fen,
                "revenue_fen": revenue_fen,
            },
        )

    def certificate(
        self,
        *,
        enterprise: int,
        certificate_no: str,
        valid_from: date,
        valid_to: date,
        issuing_body: str,
    ) -> None:
        """A national high-tech enterprise certificate."""
        self._add(
            _CERTIFICATE,
            {
                "enterprise_id": enterprise,
                "certificate_no": certificate_no,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "issuing_body": issuing_body,
            },
        )

    def intellectual_property(
        self,
        *,
        enterprise: int,
        kind: str,
        number: str,
        title: str,
        registered_on: date,
        nice_class: int | None = None,
    ) -> None:
        """A patent (``*_patent``), ``trademark`` or ``software_copyright``."""
        self._add(
            _IP,
            {
                "enterprise_id": enterprise,
                "kind": kind,
                "number": number,
                "title": title,
                "nice_class": nice_class,
                "registered_on": registered_on,
            },
        )

    def court_record(
        self,
        *,
        enterprise: int,
        kind: str,
        case_no: str,
        court: str,
        filed_on: date,
        status: str,
        role: str | None = None,
        cause: str | None = None,
        amount_fen: int | None = None,
        closed_on: date | None = None,
    ) -> None:
        """A ``lawsuit``, ``enforcement`` or ``dishonest_debtor`` listing."""
        self._add(
            _COURT,
            {
                "enterprise_id": enterprise,
                "kind": kind,
                "case_no": case_no,
                "court": court,
                "role": role,
                "cause": cause,
                "amount_fen": amount_fen,
                "filed_on": filed_on,
                "status": status,
                "closed_on": closed_on,
            },
        )

    def administrative_record(
        self,
        *,
        enterprise: int,
        kind: str,
        reference: str,
        authority: str,
        reason: str,
        dated_on: date,
        amount_fen: int | None = None,
        removed_on: date | None = None,
        minor: bool = False,
    ) -> None:
        """A ``penalty`` or an ``abnormal_operation`` listing (``removed_on``: lifted, or for a
        penalty taken down by credit repair; ``minor``: a penalty published for 3 months)."""
        self._add(
            _ADMIN,
            {
                "enterprise_id": enterprise,
                "kind": kind,
                "reference": reference,
                "authority": authority,
                "reason": reason,
                "amount_fen": amount_fen,
                "dated_on": dated_on,
                "removed_on": removed_on,
                "minor": minor,
            },
        )

    def customs_registration(
        self, *, enterprise: int, customs_code: str, credit_grade: str, registered_on: date
    ) -> None:
        """Registration with customs and the customs credit grade."""
        self._add(
            _CUSTOMS,
            {
                "enterprise_id": enterprise,
                "customs_code": customs_code,
                "credit_grade": credit_grade,
                "registered_on": registered_on,
            },
        )

    def customs_year(self, *, enterprise: int, year: int, import_fen: int, export_fen: int) -> None:
        """A year's declared import and export value."""
        self._add(
            _CUSTOMS_YEAR,
            {
                "enterprise_id": enterprise,
                "year": year,
                "import_fen": import_fen,
                "export_fen": export_fen,
            },
        )

    def statement(
        self,
        *,
        enterprise: int,
        fiscal_year: int,
        revenue_fen: int,
        total_assets_fen: int,
        net_profit_fen: int,
        audit_opinion: str,
        auditor: str,
    ) -> None:
        """An audited annual financial statement."""
        self._add(
            _STATEMENT,
            {
                "enterprise_id": enterprise,
                "fiscal_year": fiscal_year,
                "revenue_fen": revenue_fen,
                "total_assets_fen": total_assets_fen,
                "net_profit_fen": net_profit_fen,
                "audit_opinion": audit_opinion,
                "auditor": auditor,
            },
        )

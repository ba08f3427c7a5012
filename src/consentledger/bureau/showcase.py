"""Hand-made showcase enterprises: always present, with fixed USCCs, for the demo and the docs.

=============================  ======================  =====================================
constant                       enterprise              what it shows
=============================  ======================  =====================================
``CHIP_DISTRIBUTOR_USCC``      Nanshan chip            a national high-tech enterprise
                               distributor (F5179)     whose cash flow is uneven: lumpy,
                                                       order-driven VAT, imports paid up
                                                       front, suits to collect receivables;
                                                       medium (wholesale, E 46, R ~32,680)
``CATERING_CHAIN_USCC``        Futian catering chain   seasonal staff (Spring Festival dip),
                               (H6210)                 a new outlet, gas-heavy utilities, a
                                                       month of social-insurance arrears, a
                                                       food-safety penalty; medium
``CONSTRUCTION_FIRM_USCC``     Longgang decoration     project-driven hiring and layoffs,
                               contractor (E5011)      tax arrears, a subcontractor suit; its
                                                       class needs audited total assets; small
``SOFTWARE_STARTUP_USCC``      Bao'an software         founded three months before the as-of
                               start-up (I6513)        date: no tax year closed yet, so the
                                                       size class is reported as missing
                                                       revenue instead of being guessed
=============================  ======================  =====================================

Every date and year is placed relative to the as-of date (the latest tax year, the latest closed
month), so the showcase reads the same whatever as-of date a dataset is seeded with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from consentledger.bureau.documents import last_complete_month, month_start
from consentledger.bureau.filings import (
    AUDIT_YEAR_CLOSE,
    HIGH_TECH_ISSUER,
    TAX_YEAR_CLOSE,
    latest_closed_year,
    patent_check_digit,
)
from consentledger.bureau.rows import BatchBuilder
from consentledger.categories import Category

#: Shenzhen Pengxintong Electronics: Nanshan chip distributor, national high-tech enterprise.
CHIP_DISTRIBUTOR_USCC = "91440305MA5DKW7Q1B"
#: Shenzhen Yueweixuan Catering Management: Futian restaurant chain.
CATERING_CHAIN_USCC = "91440304MA5EU3R884"
#: Shenzhen Zhucheng Decoration Engineering: small Longgang construction firm.
CONSTRUCTION_FIRM_USCC = "91440307MA5G2LJP49"
#: Shenzhen Xingqiao Intelligent Technology: Bao'an software start-up without a closed tax year.
SOFTWARE_STARTUP_USCC = "91440306MA5HB0W484"

SHOWCASE_USCCS: tuple[str, ...] = (
    CHIP_DISTRIBUTOR_USCC,
    CATERING_CHAIN_USCC,
    CONSTRUCTION_FIRM_USCC,
    SOFTWARE_STARTUP_USCC,
)


@dataclass(frozen=True, slots=True)
class Showcase:
    """A showcase enterprise: its fixed identity and the story it tells."""

    uscc: str
    name: str
    name_en: str
    industry_code: str
    story: str


SHOWCASE: tuple[Showcase, ...] = (
    Showcase(
        CHIP_DISTRIBUTOR_USCC,
        "深圳市鹏芯通电子有限公司",
        "Shenzhen Pengxintong Electronics Co., Ltd.",
        "F5179",
        "Nanshan chip distributor and national high-tech enterprise; order-driven, lumpy VAT, "
        "imports paid up front, suits to collect from customers. Medium (wholesale).",
    ),
    Showcase(
        CATERING_CHAIN_USCC,
        "深圳市粤味轩餐饮管理有限公司",
        "Shenzhen Yueweixuan Catering Management Co., Ltd.",
        "H6210",
        "Futian restaurant chain; Spring Festival staff dip, a new outlet, one month of "
        "social-insurance arrears, a food-safety penalty. Medium (catering).",
    ),
    Showcase(
        CONSTRUCTION_FIRM_USCC,
        "深圳市筑诚装饰工程有限公司",
        "Shenzhen Zhucheng Decoration Engineering Co., Ltd.",
        "E5011",
        "Longgang decoration contractor; project-driven hiring and layoffs, tax arrears, a "
        "subcontractor suit; classified with audited total assets. Small (construction).",
    ),
    Showcase(
        SOFTWARE_STARTUP_USCC,
        "深圳市星桥智能科技有限公司",
        "Shenzhen Xingqiao Intelligent Technology Co., Ltd.",
        "I6513",
        "Bao'an software start-up founded three months before the as-of date; no tax year has "
        "closed, so its size class is reported as missing revenue.",
    ),
)

# Headcounts, oldest first, for the 36 months up to the latest closed month.
_CHIP_HEADCOUNT = (
    *(33, 33, 34, 34, 35, 35, 36, 36, 36, 37, 38, 38),
    *(38, 39, 40, 40, 41, 40, 40, 42, 42, 43, 43, 44),
    *(44, 45, 45, 44, 45, 46, 46, 46, 47, 46, 46, 46),
)
_CONSTRUCTION_HEADCOUNT = (
    *(21, 22, 22, 30, 38, 41, 40, 27, 24, 23, 31, 44),
    *(51, 50, 37, 28, 26, 29, 36, 42, 44, 39, 31, 30),
    *(33, 38, 45, 47, 40, 32, 29, 34, 41, 46, 43, 38),
)
# Catering staff by calendar month around a base: the Spring Festival dip, a summer peak.
_CATERING_SEASON = {1: 6, 2: -14, 3: 0, 4: 4, 5: 8, 6: 10, 7: 14, 8: 16, 9: 9, 10: 12, 11: 8, 12: 7}
# Chip orders by calendar month (per mille of an average month): quarter-end shipments.
_CHIP_ORDERS = {1: 500, 2: 300, 3: 1700, 4: 600, 5: 900, 6: 2200, 7: 400, 8: 800, 9: 1900}
_CHIP_ORDERS_Q4 = {10: 600, 11: 1100, 12: 1000}


@dataclass(frozen=True, slots=True)
class _Frame:
    """The as-of frame every showcase enterprise is placed in."""

    as_of: date
    months: int
    last: int
    tax_year: int
    audit_year: int

    @property
    def first(self) -> int:
        return self.last - self.months + 1

    def days_ago(self, days: int) -> date:
        return self.as_of - timedelta(days=days)


def _series(values: Sequence[int], count: int) -> list[int]:
    """The last ``count`` values, padded at the start with the oldest value."""
    padded = [values[0]] * max(0, count - len(values)) + list(values)
    return padded[-count:]


def _return_headcount(heads: dict[int, int], year: int) -> int:
    """The headcount an income tax annual return declares for ``year``: the average of the year's
    months in the series, else the series' value nearest to that year."""
    months = [count for month, count in heads.items() if month // 12 == year]
    if months:
        return round(sum(months) / len(months))
    nearest = min(heads) if year * 12 < min(heads) else max(heads)
    return heads[nearest]


def _yearly(table: dict[int, int], frame: _Frame) -> Callable[[int], int]:
    """Revenue in fen by calendar year from offsets to the latest tax year (clamped at the ends)."""
    low, high = min(table), max(table)

    def revenue(year: int) -> int:
        return table[min(max(year - frame.tax_year, low), high)]

    return revenue


def _chip_distributor(b: BatchBuilder, f: _Frame) -> None:
    uscc = CHIP_DISTRIBUTOR_USCC
    eid = b.enterprise(
        uscc=uscc,
        name="深圳市鹏芯通电子有限公司",
        legal_representative="林志远",
        registered_capital_fen=2_000_000_000,
        founded=date(2016, 3, 18),
        status="in_operation",
        industry_code="F5179",
        district_code="440305",
        address="深圳市南山区粤海街道科技南十二路3号芯谷大厦1207室",
    )
    b.shareholder(
        enterprise=eid,
        seq=1,
        name="林志远",
        kind="natural_person",
        subscribed_capital_fen=1_200_000_000,
    )
    b.shareholder(
        enterprise=eid,
        seq=2,
        name="陈慧",
        kind="natural_person",
        subscribed_capital_fen=500_000_000,
    )
    b.shareholder(
        enterprise=eid,
        seq=3,
        name="深圳市前湾创芯投资合伙企业(有限合伙)",
        kind="enterprise",
        subscribed_capital_fen=300_000_000,
    )
    revenue = _yearly(
        {
            -3: 21_060_000_000,
            -2: 24_150_000_000,
            -1: 27_930_000_000,
            0: 32_680_000_000,
            1: 35_200_000_000,
        },
        f,
    )
    orders = {**_CHIP_ORDERS, **_CHIP_ORDERS_Q4}
    monthly_heads: dict[int, int] = {}
    for k, heads in enumerate(_series(_CHIP_HEADCOUNT, f.months)):
        month = f.first + k
        monthly_heads[month] = heads
        # VAT and surcharges at about 0.95 % of sales; sales follow the quarter-end orders.
        tax = revenue(month // 12) * 95 * orders[month % 12 + 1] // (12 * 10_000 * 1000)
        b.monthly(
            enterprise=eid,
            month=month,
            insured_headcount=heads,
            housing_fund_headcount=heads - 3,
            tax_paid_fen=tax,
            water_fen=52_000 + 900 * (k % 5),
            water_on_time=True,
            power_fen=1_750_000 + 110_000 * (month % 4) + 6_000 * heads,
            power_on_time=True,
            gas_fen=None,
            gas_on_time=None,
        )
    for year in range(f.tax_year - 2, f.tax_year + 1):
        b.tax_year(
            enterprise=eid,
            year=year,
            credit_grade="A",
            taxable_revenue_fen=revenue(year),
            employees=_return_headcount(monthly_heads, year),
        )
    for year in (f.tax_year - 4, f.tax_year - 1):
        valid_from = date(year, 12, 12)
        if valid_from <= f.as_of:
            b.certificate(
                enterprise=eid,
                certificate_no=f"GR{year}4420{3187 + year % 100:04d}",
                valid_from=valid_from,
                valid_to=date(year + 3, 12, 11),
                issuing_body=HIGH_TECH_ISSUER,
            )
    patents = (
        ("invention", 1420, "一种芯片批次追溯方法"),
        ("invention", 980, "一种电子元器件真伪检测方法"),
        ("utility_model", 1650, "一种芯片编带检测装置"),
        ("utility_model", 1210, "一种防静电元器件存储柜"),
        ("utility_model", 760, "一种料盘自动盘点装置"),
        ("utility_model", 400, "一种芯片烘烤除湿装置"),
    )
    for i, (kind, days, title) in enumerate(patents):
        granted = f.days_ago(days)
        digit = "1" if kind == "invention" else "2"
        application = f"{granted.year - 1}{digit}{1_234_560 + 37 * i:07d}"
        b.intellectual_property(
            enterprise=eid,
            kind=f"{kind}_patent",
            number=f"ZL{application}.{patent_check_digit(application)}",
            title=title,
            registered_on=granted,
        )
    for i, title in enumerate(("鹏芯通库存管理系统V2.0", "鹏芯通报关单据核对软件V1.0")):
        registered = f.days_ago(900 - 400 * i)
        b.intellectual_property(
            enterprise=eid,
            kind="software_copyright",
            number=f"{registered.year}SR{1_045_322 + 811 * i:07d}",
            title=title,
            registered_on=registered,
        )
    for nice_class, number in ((9, "31872256"), (35, "31872257")):
        b.intellectual_property(
            enterprise=eid,
            kind="trademark",
            number=number,
            title="鹏芯通",
            nice_class=nice_class,
            registered_on=f.days_ago(1800),
        )
    b.customs_registration(
        enterprise=eid,
        customs_code="4403960817",
        credit_grade="advanced_certified",
        registered_on=date(2016, 9, 5),
    )
    for year in range(f.tax_year - 2, f.tax_year + 1):
        b.customs_year(
            enterprise=eid,
            year=year,
            import_fen=revenue(year) * 62 // 100,
            export_fen=revenue(year) * 8 // 100,
        )
    settled_filed = f.days_ago(290)
    b.court_record(
        enterprise=eid,
        kind="lawsuit",
        case_no=f"({settled_filed.year})粤0305民初18842号",
        court="深圳市南山区人民法院",
        role="plaintiff",
        cause="买卖合同纠纷",
        amount_fen=386_000_000,
        filed_on=settled_filed,
        status="closed",
        closed_on=f.days_ago(160),
    )
    pending_filed = f.days_ago(115)
    b.court_record(
        enterprise=eid,
        kind="lawsuit",
        case_no=f"({pending_filed.year})粤0305民初7316号",
        court="深圳市南山区人民法院",
        role="plaintiff",
        cause="买卖合同纠纷",
        amount_fen=125_000_000,
        filed_on=pending_filed,
        status="pending",
    )
    assets = {0: 13_100_000_000, -1: 11_200_000_000, -2: 9_800_000_000}
    profit = {0: 790_000_000, -1: 610_000_000, -2: 580_000_000}
    for offset in (-2, -1, 0):
        year = f.audit_year + offset
        b.statement(
            enterprise=eid,
            fiscal_year=year,
            revenue_fen=revenue(year) * 1003 // 1000,
            total_assets_fen=assets[offset],
            net_profit_fen=profit[offset],
            audit_opinion="unqualified",
            auditor="深圳鹏信会计师事务所(普通合伙)",
        )


def _catering_chain(b: BatchBuilder, f: _Frame) -> None:
    uscc = CATERING_CHAIN_USCC
    eid = b.enterprise(
        uscc=uscc,
        name="深圳市粤味轩餐饮管理有限公司",
        legal_representative="黄嘉敏",
        registered_capital_fen=500_000_000,
        founded=date(2017, 5, 22),
        status="in_operation",
        industry_code="H6210",
        district_code="440304",
        address="深圳市福田区华强北街道深南中路3018号百花大厦2层",
    )
    b.shareholder(
        enterprise=eid,
        seq=1,
        name="黄嘉敏",
        kind="natural_person",
        subscribed_capital_fen=350_000_000,
    )
    b.shareholder(
        enterprise=eid,
        seq=2,
        name="黄伟",
        kind="natural_person",
        subscribed_capital_fen=150_000_000,
    )
    revenue = _yearly({-2: 4_380_000_000, -1: 5_120_000_000, 0: 5_860_000_000, 1: 6_300_000_000}, f)
    monthly_heads: dict[int, int] = {}
    for k in range(f.months):
        month = f.first + k
        moy = month % 12 + 1
        new_outlet = 24 if f.last - month < 8 else 0
        heads = monthly_heads[month] = 160 + _CATERING_SEASON[moy] + new_outlet
        # Restaurants sell most around the Spring Festival and in summer.
        season = 1300 if moy in (1, 2) else 1100 if moy in (7, 8) else 900
        b.monthly(
            enterprise=eid,
            month=month,
            insured_headcount=heads,
            housing_fund_headcount=heads * 4 // 10,
            tax_paid_fen=revenue(month // 12) * 32 * season // (12 * 1000 * 1000),
            water_fen=880_000 + 4_000 * heads,
            water_on_time=f.last - month != 5,
            power_fen=4_600_000 + 3_000 * heads,
            power_on_time=True,
            gas_fen=3_500_000 + 2_000 * heads,
            gas_on_time=True,
        )
    for year in range(f.tax_year - 2, f.tax_year + 1):
        b.tax_year(
            enterprise=eid,
            year=year,
            credit_grade="B",
            taxable_revenue_fen=revenue(year),
            employees=_return_headcount(monthly_heads, year),
        )
    b.arrears(
        enterprise=eid,
        category=Category.SOCIAL_INSURANCE,
        amount_fen=8_640_000,
        since=month_start(f.last),
    )
    decided = f.days_ago(349)
    b.administrative_record(
        enterprise=eid,
        kind="penalty",
        reference=f"深市监0304罚[{decided.year}]2217号",
        authority="深圳市市场监督管理局福田监管局",
        reason="未按规定落实食品安全自查制度",
        amount_fen=500_000,
        dated_on=decided,
    )
    for i, (days, amount) in enumerate(((610, 3_860_000), (220, 5_230_000))):
        filed = f.days_ago(days)
        b.court_record(
            enterprise=eid,
            kind="lawsuit",
            case_no=f"({filed.year})粤0304民初{4410 + 1877 * i}号",
            court="深圳市福田区人民法院",
            role="defendant",
            cause="劳动争议",
            amount_fen=amount,
            filed_on=filed,
            status="closed",
            closed_on=filed + timedelta(days=95),
        )
    for nice_class, number in ((43, "24519870"), (30, "24519871")):
        b.intellectual_property(
            enterprise=eid,
            kind="trademark",
            number=number,
            title="粤味轩",
            nice_class=nice_class,
            registered_on=f.days_ago(2100),
        )
    for offset, assets, profit in (
        (-1, 2_150_000_000, 290_000_000),
        (0, 2_480_000_000, 340_000_000),
    ):
        year = f.audit_year + offset
        b.statement(
            enterprise=eid,
            fiscal_year=year,
            revenue_fen=revenue(year),
            total_assets_fen=assets,
            net_profit_fen=profit,
            audit_opinion="unqualified",
            auditor="深圳明诚会计师事务所(特殊普通合伙)",
        )


def _construction_firm(b: BatchBuilder, f: _Frame) -> None:
    uscc = CONSTRUCTION_FIRM_USCC
    eid = b.enterprise(
        uscc=uscc,
        name="深圳市筑诚装饰工程有限公司",
        legal_representative="张建华",
        registered_capital_fen=1_000_000_000,
        founded=date(2019, 8, 6),
        status="in_operation",
        industry_code="E5011",
        district_code="440307",
        address="深圳市龙岗区坂田街道五和大道118号和成世纪名园3栋1506室",
    )
    b.shareholder(
        enterprise=eid,
        seq=1,
        name="张建华",
        kind="natural_person",
        subscribed_capital_fen=600_000_000,
    )
    b.shareholder(
        enterprise=eid,
        seq=2,
        name="张磊",
        kind="natural_person",
        subscribed_capital_fen=400_000_000,
    )
    revenue = _yearly({-2: 1_290_000_000, -1: 1_520_000_000, 0: 1_860_000_000, 1: 2_000_000_000}, f)
    monthly_heads: dict[int, int] = {}
    for k, heads in enumerate(_series(_CONSTRUCTION_HEADCOUNT, f.months)):
        month = f.first + k
        monthly_heads[month] = heads
        # Tax follows project billing, which follows the crews on site.
        b.monthly(
            enterprise=eid,
            month=month,
            insured_headcount=heads,
            housing_fund_headcount=min(9, heads),
            tax_paid_fen=revenue(month // 12) * 3 * heads // (12 * 100 * 36),
            water_fen=40_000 + 500 * heads,
            water_on_time=True,
            power_fen=350_000 + 6_000 * heads,
            power_on_time=f.last - month not in (1, 2),
            gas_fen=None,
            gas_on_time=None,
        )
    for year in range(f.tax_year - 2, f.tax_year + 1):
        b.tax_year(
            enterprise=eid,
            year=year,
            credit_grade="B",
            taxable_revenue_fen=revenue(year),
            employees=_return_headcount(monthly_heads, year),
        )
    b.arrears(
        enterprise=eid,
        category=Category.TAX,
        amount_fen=12_650_000,
        since=month_start(f.last - 1),
    )
    suits = (
        (75, "defendant", "建设工程分包合同纠纷", 68_000_000, 2291),
        (140, "plaintiff", "建设工程施工合同纠纷", 230_000_000, 1187),
    )
    for days, role, cause, amount, number in suits:
        filed = f.days_ago(days)
        b.court_record(
            enterprise=eid,
            kind="lawsuit",
            case_no=f"({filed.year})粤0307民初{number}号",
            court="深圳市龙岗区人民法院",
            role=role,
            cause=cause,
            amount_fen=amount,
            filed_on=filed,
            status="pending",
        )
    statements = {
        0: (1_420_000_000, 90_000_000),
        -1: (1_180_000_000, 70_000_000),
        -2: (960_000_000, 52_000_000),
    }
    for offset, (assets, profit) in statements.items():
        year = f.audit_year + offset
        b.statement(
            enterprise=eid,
            fiscal_year=year,
            revenue_fen=revenue(year) * 995 // 1000,
            total_assets_fen=assets,
            net_profit_fen=profit,
            audit_opinion="unqualified",
            auditor="深圳华审会计师事务所(普通合伙)",
        )


def _software_startup(b: BatchBuilder, f: _Frame) -> None:
    uscc = SOFTWARE_STARTUP_USCC
    founding_month = f.last - 3
    founded = month_start(founding_month) + timedelta(days=16)
    eid = b.enterprise(
        uscc=uscc,
        name="深圳市星桥智能科技有限公司",
        legal_representative="陈思远",
        registered_capital_fen=100_000_000,
        founded=founded,
        status="in_operation",
        industry_code="I6513",
        district_code="440306",
        address="深圳市宝安区新安街道创业路98号星桥创客空间3层A12",
    )
    b.shareholder(
        enterprise=eid,
        seq=1,
        name="陈思远",
        kind="natural_person",
        subscribed_capital_fen=70_000_000,
    )
    b.shareholder(
        enterprise=eid, seq=2, name="刘欣", kind="natural_person", subscribed_capital_fen=30_000_000
    )
    staff = (2, 3, 5, 7)
    taxes = (0, 120_000, 280_000, 350_000)
    for k in range(4):
        month = founding_month + k
        if month < f.first:
            continue
        b.monthly(
            enterprise=eid,
            month=month,
            insured_headcount=staff[k],
            housing_fund_headcount=None,
            tax_paid_fen=taxes[k],
            water_fen=None,
            water_on_time=None,
            power_fen=None,
            power_on_time=None,
            gas_fen=None,
            gas_on_time=None,
        )
    registered = f.days_ago(20)
    b.intellectual_property(
        enterprise=eid,
        kind="software_copyright",
        number=f"{registered.year}SR0{804_511:06d}",
        title="星桥智能排班系统V1.0",
        registered_on=registered,
    )


def write_showcase(builder: BatchBuilder, as_of: date, months: int) -> None:
    """Write the showcase enterprises, placed relative to ``as_of``, with ``months`` of history."""
    frame = _Frame(
        as_of=as_of,
        months=months,
        last=last_complete_month(as_of),
        tax_year=latest_closed_year(as_of, TAX_YEAR_CLOSE),
        audit_year=latest_closed_year(as_of, AUDIT_YEAR_CLOSE),
    )
    _chip_distributor(builder, frame)
    _catering_chain(builder, frame)
    _construction_firm(builder, frame)
    _software_startup(builder, frame)

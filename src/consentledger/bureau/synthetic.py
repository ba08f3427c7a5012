"""Deterministic synthetic bureau data: Shenzhen enterprises across the 11 categories.

Everything comes from one ``random.Random(seed)`` and an explicit as-of date: no global random
state, no wall clock, no hash-ordered iteration, and only IEEE-exact float operations (+, -, *, /,
int()), so a seed gives the same data in every process and on every machine.

The population is shaped after the material: most enterprises are micro or small (target mix
72 % micro, 20 % small, 6.5 % medium, 1.5 % large, drawn per enterprise against the sector's size
rule), sectors are spread as in a southern Chinese city (trade, business services, software and
manufacturing first), headcount series hire and lay off month by month (with a Spring Festival
dip in labour-intensive sectors), and about 8 % of enterprises are in distress: arrears, late
utility payments, lawsuits, enforcement and penalties cluster there. The hand-made showcase
enterprises (:mod:`consentledger.bureau.showcase`) are always written first.
:func:`consentledger.bureau.seeding.seed_store` loads the batches into a store.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from consentledger.bureau.classification import SIZE_RULES, Measure, SizeClass
from consentledger.bureau.divisions import find_division
from consentledger.bureau.documents import last_complete_month, month_start
from consentledger.bureau.filings import (
    ANNUAL_REPORT_CLOSE,
    AUDIT_YEAR_CLOSE,
    HIGH_TECH_ISSUER,
    TAX_YEAR_CLOSE,
    latest_closed_year,
    patent_check_digit,
)
from consentledger.bureau.industry import Sector, sector_of
from consentledger.bureau.rows import BatchBuilder, Row
from consentledger.bureau.showcase import SHOWCASE_USCCS, write_showcase
from consentledger.bureau.sources import SOURCE_DEPARTMENTS
from consentledger.bureau.uscc import ALPHABET, check_characters
from consentledger.categories import Category

DEFAULT_SEED = 20250630
DEFAULT_AS_OF = date(2025, 6, 30)
DEFAULT_ENTERPRISES = 1000
#: Months of monthly history per enterprise (the longest purpose cap is 36).
DEFAULT_MONTHS = 24
DEFAULT_BATCH_SIZE = 2000
#: Version of the generator; recorded in the dataset's metadata.
GENERATOR_VERSION = "2"


#: USCCs began on 1 October 2015 (GB 32100-2015); older enterprises keep their 8-digit
#: organisation code as the body.
USCC_START = date(2015, 10, 1)
#: Share of new codes that carry the district's division instead of 440300.
DISTRICT_CODE_SHARE = 0.06
# Shenzhen's post-2015 bodies run MA5D... (2016) to MA5H... (2021 on): "5D" is 5 * 31 + 13 in
# the first two base-31 digits of a six-digit sequence number.
_SEQUENCE_START = (5 * 31 + 13) * 31**4
_SEQUENCE_PER_DAY = 1100
#: Share of synthetic entities that are individual businesses (个体工商户, USCC type 92).
INDIVIDUAL_BUSINESS_SHARE = 0.12
#: Revenue per insured employee and year, in 10,000 yuan, below which a business could not pay
#: Shenzhen's minimum wage (2,360 yuan a month since 2022-07) and the employer's contributions.
MIN_REVENUE_PER_HEAD_WAN = 4.0
#: Individual businesses: trade suffixes (no legal form: they are not companies) and sectors.
_INDIVIDUAL_SUFFIXES = (
    ("商行", "F5292"),
    ("便利店", "F5212"),
    ("餐饮店", "H6210"),
    ("五金店", "F5234"),
    ("美发店", "O8010"),
)


@dataclass(frozen=True, slots=True)
class District:
    """A Shenzhen district: division code, names, share of enterprises, streets, court code."""

    code: str
    name: str
    name_en: str
    weight: int
    streets: tuple[str, ...]
    court: str


#: Shenzhen's districts (GB/T 2260 codes), weighted by their share of registered enterprises.
DISTRICTS: tuple[District, ...] = (
    District("440303", "罗湖区", "Luohu", 70, ("东门街道", "桂园街道", "笋岗街道"), "0303"),
    District("440304", "福田区", "Futian", 120, ("福田街道", "华强北街道", "沙头街道"), "0304"),
    District("440305", "南山区", "Nanshan", 150, ("粤海街道", "南头街道", "西丽街道"), "0305"),
    District("440306", "宝安区", "Bao'an", 220, ("新安街道", "西乡街道", "沙井街道"), "0306"),
    District("440307", "龙岗区", "Longgang", 200, ("龙城街道", "布吉街道", "坂田街道"), "0307"),
    District("440308", "盐田区", "Yantian", 20, ("沙头角街道", "盐田街道"), "0308"),
    District("440309", "龙华区", "Longhua", 140, ("民治街道", "龙华街道", "观澜街道"), "0309"),
    District("440310", "坪山区", "Pingshan", 30, ("坪山街道", "坑梓街道"), "0310"),
    District("440311", "光明区", "Guangming", 40, ("光明街道", "公明街道", "凤凰街道"), "0311"),
)


@dataclass(frozen=True, slots=True)
class SectorProfile:
    """How enterprises of one sector look: share, industry codes, names, utilities, extras."""

    sector: Sector
    weight: int
    codes: tuple[str, ...]
    suffixes: tuple[str, ...]
    power_per_head: int
    water_per_head: int
    gas_per_head: int
    seasonal_labour: bool
    high_tech: float
    customs: float
    audited: float


# Columns: sector, share per mille, GB/T 4754 codes, name suffixes; then power, water and gas in
# yuan per head and month, a Spring Festival staff dip, and the chances of a high-tech
# certificate, a customs registration and audited statements (scaled by size).
# fmt: off
SECTOR_PROFILES: tuple[SectorProfile, ...] = (
    SectorProfile(Sector.AGRICULTURE, 5, ("A0141", "A0412"), ("农业科技", "生态农业"),
                  150, 120, 0, True, 0.02, 0.0, 0.1),
    SectorProfile(Sector.INDUSTRY, 120,
                  ("C3973", "C3982", "C3922", "C3911", "C2438", "C1819", "C2927"),
                  ("电子", "精密制造", "实业", "智能装备"), 900, 45, 60, True, 0.2, 0.2, 0.2),
    SectorProfile(Sector.CONSTRUCTION, 40, ("E4710", "E4910", "E5011", "E5012"),
                  ("建设工程", "装饰工程", "机电安装"), 180, 60, 0, True, 0.03, 0.0, 0.6),
    SectorProfile(Sector.WHOLESALE, 235, ("F5176", "F5177", "F5179", "F5137", "F5124"),
                  ("贸易", "供应链", "电子商务", "商贸"), 160, 15, 0, False, 0.03, 0.15, 0.15),
    SectorProfile(Sector.RETAIL, 100, ("F5212", "F5232", "F5271", "F5292"),
                  ("百货", "商贸", "连锁超市"), 350, 30, 0, True, 0.0, 0.01, 0.1),
    SectorProfile(Sector.TRANSPORT, 25, ("G5431", "G5821", "G5411"),
                  ("物流", "运输", "货运代理"), 250, 20, 0, False, 0.01, 0.1, 0.2),
    SectorProfile(Sector.WAREHOUSING, 10, ("G5920", "G5930"), ("仓储", "冷链物流"),
                  600, 25, 0, False, 0.01, 0.05, 0.2),
    SectorProfile(Sector.POSTAL, 5, ("G6020",), ("快递", "速运"),
                  200, 15, 0, True, 0.0, 0.0, 0.2),
    SectorProfile(Sector.ACCOMMODATION, 10, ("H6110", "H6121"), ("酒店管理", "酒店"),
                  700, 300, 120, False, 0.0, 0.0, 0.3),
    SectorProfile(Sector.CATERING, 40, ("H6210", "H6220", "H6232"),
                  ("餐饮管理", "餐饮", "饮品"), 600, 180, 400, True, 0.0, 0.0, 0.1),
    SectorProfile(Sector.INFORMATION_TRANSMISSION, 20, ("I6312", "I6429", "I6431"),
                  ("网络科技", "信息技术", "通信"), 300, 10, 0, False, 0.2, 0.0, 0.3),
    SectorProfile(Sector.SOFTWARE_IT_SERVICES, 110, ("I6513", "I6520", "I6540"),
                  ("软件", "信息技术", "智能科技", "数字科技"), 150, 10, 0, False, 0.3, 0.01, 0.2),
    SectorProfile(Sector.REAL_ESTATE_DEVELOPMENT, 5, ("K7010",), ("房地产开发", "置业"),
                  120, 20, 0, False, 0.0, 0.0, 0.8),
    SectorProfile(Sector.PROPERTY_MANAGEMENT, 15, ("K7020",), ("物业管理", "物业服务"),
                  200, 60, 0, False, 0.0, 0.0, 0.3),
    SectorProfile(Sector.LEASING_BUSINESS_SERVICES, 140, ("L7111", "L7251", "L7259", "L7299"),
                  ("商务咨询", "企业管理", "广告", "设备租赁"), 120, 10, 0, False, 0.02, 0.01, 0.5),
    SectorProfile(Sector.OTHER, 120,
                  ("M7310", "M7519", "M7484", "O8010", "P8391", "R9011", "K7030"),
                  ("技术服务", "文化传播", "教育咨询", "家政服务", "房地产经纪"),
                  150, 20, 0, False, 0.1, 0.0, 0.1),
)
# fmt: on

#: Target size mix per mille, before the series move the figures.
SIZE_WEIGHTS: tuple[tuple[SizeClass, int], ...] = (
    (SizeClass.MICRO, 720),
    (SizeClass.SMALL, 200),
    (SizeClass.MEDIUM, 65),
    (SizeClass.LARGE, 15),
)
DISTRESS_SHARE = 0.08

_TRADE_CHARS = (
    "华鹏盛创新达通信联科泰恒源汇嘉瑞宏广兴远博锐智优海星光阳天宇中金富利德诚和安康云峰景明晟昊航铭卓越"
    "腾飞凯捷润丰祥贝蓝绿"
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红建文辉鑫宇浩婷思晨欣佳子梓嘉俊"
_ROADS = ("深南大道", "建设路", "工业大道", "科技路", "创业路", "人民路", "中心路", "兴业路")
_CAPITAL_WAN: dict[SizeClass, tuple[int, ...]] = {
    SizeClass.MICRO: (10, 30, 50, 100, 100, 200, 500),
    SizeClass.SMALL: (100, 200, 300, 500, 1000),
    SizeClass.MEDIUM: (500, 1000, 2000, 3000, 5000),
    SizeClass.LARGE: (5000, 10000, 20000, 50000),
}
_CAUSES = ("买卖合同纠纷", "劳动争议", "借款合同纠纷", "租赁合同纠纷", "服务合同纠纷")
_PENALTY_REASONS = (
    "未按规定开具发票",
    "发布违法广告",
    "未按规定履行消防安全职责",
    "产品质量抽检不合格",
    "未按规定办理变更登记",
)
_ABNORMAL_REASONS = ("未按规定公示年度报告", "通过登记的住所或者经营场所无法联系")
_AUDITORS = (
    "深圳鹏信会计师事务所(普通合伙)",
    "深圳明诚会计师事务所(特殊普通合伙)",
    "深圳华审会计师事务所(普通合伙)",
    "深圳正衡会计师事务所(普通合伙)",
)
_OPINIONS = (("unqualified", 930), ("qualified", 50), ("adverse", 10), ("disclaimer", 10))
_TAX_GRADES = (("A", 150), ("B", 550), ("M", 220), ("C", 50), ("D", 30))
_DISTRESSED_TAX_GRADES = (("B", 300), ("M", 200), ("C", 300), ("D", 200))
_CUSTOMS_GRADES = (("advanced_certified", 50), ("general_credit", 900), ("dishonest", 50))
_PATENT_TITLES = (
    "一种检测装置",
    "一种散热结构",
    "一种控制电路",
    "一种数据处理方法",
    "一种连接组件",
)
_COPYRIGHT_TITLES = ("管理系统V1.0", "数据平台V2.0", "移动应用软件V1.0", "监控软件V3.1")


def _yearly_average(first_month: int, headcounts: Sequence[int]) -> dict[int, int]:
    """The average monthly headcount of each calendar year the series covers."""
    totals: dict[int, list[int]] = {}
    for offset, count in enumerate(headcounts):
        totals.setdefault((first_month + offset) // 12, []).append(count)
    return {year: round(sum(counts) / len(counts)) for year, counts in totals.items()}


def _base31(value: int, width: int) -> str:
    """``value`` written with ``width`` USCC alphabet digits, most significant first."""
    digits = []
    for _ in range(width):
        value, digit = divmod(value, len(ALPHABET))
        digits.append(ALPHABET[digit])
    if value:
        raise ValueError("sequence number too large for the organisation code")
    return "".join(reversed(digits))


def _cumulative(weights: Sequence[int]) -> list[int]:
    return list(accumulate(weights))


class SyntheticBureau:
    """A generator of bureau rows for one seed, as-of date and history length."""

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        as_of: date = DEFAULT_AS_OF,
        months: int = DEFAULT_MONTHS,
    ) -> None:
        if months < 1:
            raise ValueError(f"months of history must be >= 1, got {months}")
        self.seed = seed
        self.as_of = as_of
        self.months = months
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.last_month = last_complete_month(as_of)
        self.first_month = self.last_month - months + 1
        self.tax_year = latest_closed_year(as_of, TAX_YEAR_CLOSE)
        self.audit_year = latest_closed_year(as_of, AUDIT_YEAR_CLOSE)
        self._usccs: set[str] = set(SHOWCASE_USCCS)
        self._names: set[str] = set()
        self._serials: dict[str, int] = {}
        self._sector_cum = _cumulative([p.weight for p in SECTOR_PROFILES])
        self._district_cum = _cumulative([d.weight for d in DISTRICTS])
        self._size_cum = _cumulative([w for _, w in SIZE_WEIGHTS])
        self._oldest = date(1995, 1, 1)

    # -- small random helpers (all IEEE-exact) --------------------------------------------------

    def _between(self, low: float, high: float) -> float:
        return low + (high - low) * self.rng.random()

    def _skewed(self, low: float, high: float) -> float:
        u = self.rng.random()
        return low + (high - low) * u * u

    def _pick(self, weighted: Sequence[tuple[str, int]]) -> str:
        total = sum(w for _, w in weighted)
        point = self.rng.randrange(total)
        for value, weight in weighted:
            if point < weight:
                return value
            point -= weight
        raise AssertionError("unreachable: the weights were exhausted")

    def _date_between(self, start: date, end: date) -> date:
        span = (end - start).days
        return start if span <= 0 else start + timedelta(days=self.rng.randrange(span + 1))

    def _serial(self, key: str, base: int) -> int:
        value = self._serials.get(key, base) + self.rng.randrange(1, 40)
        self._serials[key] = value
        return value

    def _person(self) -> str:
        rng = self.rng
        given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
        return rng.choice(_SURNAMES) + given

    def _trade_name(self, suffix: str, legal_form: str = "有限公司", district: str = "") -> str:
        """``深圳市`` (and the district, for an individual business), a trade name, the trade,
        and the legal form: a company's name ends in its form, an individual business's in its
        trade (商行, 便利店, ...)."""
        rng = self.rng
        length = 2
        while True:
            trade = "".join(rng.sample(_TRADE_CHARS, length))
            name = f"深圳市{district}{trade}{suffix}{legal_form}"
            if name not in self._names:
                self._names.add(name)
                return name
            length = 3

    def _new_uscc(self, district: District, founded: date, entity_type: str = "1") -> str:
        """A USCC as Shenzhen's market regulator issues them: division 440300 whatever the
        district, a district code for a few (never before the district existed, GB/T 2260), and
        organisation bodies in issue-date order since USCCs began (2015-10-01)."""
        rng = self.rng
        division = "440300"
        opened = find_division(district.code)
        if rng.random() < DISTRICT_CODE_SHARE and opened and founded.year >= opened.since:
            division = district.code
        while True:
            if founded < USCC_START:
                body = str(rng.randrange(10_000_000, 100_000_000))
            else:
                days = (founded - USCC_START).days
                sequence = (
                    _SEQUENCE_START + days * _SEQUENCE_PER_DAY + rng.randrange(_SEQUENCE_PER_DAY)
                )
                body = "MA" + _base31(sequence, 6)
            first16 = f"9{entity_type}{division}{body}"
            organisation, final = check_characters(first16)
            code = first16 + organisation + final
            if code not in self._usccs:
                self._usccs.add(code)
                return code

    # -- the population -------------------------------------------------------------------------

    def data_sources(self, builder: BatchBuilder) -> None:
        """The supplying department of every category, current to the as-of date."""
        for category, department in SOURCE_DEPARTMENTS.items():
            builder.data_source(category, department, self.as_of)

    def batches(
        self, enterprises: int, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Generator[dict[str, list[Row]], None, None]:
        """Batches of rows: data sources and showcase enterprises first, then ``enterprises``
        synthetic ones, ``batch_size`` enterprises per batch."""
        if enterprises < 0:
            raise ValueError(f"number of enterprises must be >= 0, got {enterprises}")
        builder = BatchBuilder()
        self.data_sources(builder)
        write_showcase(builder, self.as_of, self.months)
        yield builder.take()
        for start in range(0, enterprises, batch_size):
            for _ in range(min(batch_size, enterprises - start)):
                self.enterprise(builder)
            yield builder.take()

    def _targets(self, sector: Sector, size: SizeClass) -> dict[Measure, float]:
        rule = SIZE_RULES[sector]
        values: dict[Measure, float] = {}
        for measure in rule.measures:
            small = float(rule.small[measure])
            medium = float(rule.medium[measure])
            ceiling = float(rule.ceiling[measure])
            if size is SizeClass.MICRO:
                low = 1.0 if measure is Measure.EMPLOYEES else small / 20
                band = (low, small)
            elif size is SizeClass.SMALL:
                band = (small, medium)
            elif size is SizeClass.MEDIUM:
                band = (medium, ceiling)
            else:
                band = (ceiling, ceiling * 3)
            values[measure] = self._skewed(*band)
        employees = values.get(Measure.EMPLOYEES)
        revenue = values.get(Measure.REVENUE)
        if employees is None:
            base = revenue if revenue is not None else values[Measure.TOTAL_ASSETS] * 0.6
            employees = values[Measure.EMPLOYEES] = max(1.0, base / self._between(20, 150))
        if revenue is None:
            revenue = values[Measure.REVENUE] = employees * self._between(8, 60) + 5
        if revenue < employees * MIN_REVENUE_PER_HEAD_WAN:
            # Fewer insured staff, not less revenue: the size band was drawn for revenue.
            values[Measure.EMPLOYEES] = max(1.0, revenue / self._between(4.0, 12.0))
        if Measure.TOTAL_ASSETS not in values:
            values[Measure.TOTAL_ASSETS] = revenue * self._between(0.3, 1.5)
        return values

    def _headcounts(
        self, final: int, first: int, count: int, distressed: bool, seasonal: bool
    ) -> list[int]:
        """``count`` monthly headcounts ending at ``final``, walked backwards through hirings and
        layoffs (a hiring this month means fewer people the month before)."""
        rand = self.rng.random
        series = [0] * count
        level = float(final)
        growth = 0.35 if distressed else 0.6
        for k in range(count - 1, -1, -1):
            series[k] = int(level + 0.5)
            r = rand()
            if level < 5:
                if r < 0.12:
                    level += -1.0 if rand() < growth else 1.0
            elif r < 0.38:
                hired = rand() < growth
                if r < 0.03:
                    factor = 1.15 + 0.25 * rand()
                    level = level / factor if hired else level * factor
                else:
                    step = max(1.0, level * (0.02 + 0.08 * rand()))
                    level = level - step if hired else level + step
            if level < 0.0:
                level = 0.0
        if seasonal:
            for k in range(count - 1):
                moy = (first + k) % 12 + 1
                if moy == 2:
                    series[k] = int(series[k] * 0.88 + 0.5)
                elif moy == 3:
                    series[k] = int(series[k] * 0.96 + 0.5)
        return series

    def enterprise(self, builder: BatchBuilder) -> str:
        """Write one synthetic enterprise into ``builder``; returns its USCC."""
        rng = self.rng
        individual = rng.random() < INDIVIDUAL_BUSINESS_SHARE
        profile = SECTOR_PROFILES[
            bisect_right(self._sector_cum, rng.randrange(self._sector_cum[-1]))
        ]
        district = DISTRICTS[
            bisect_right(self._district_cum, rng.randrange(self._district_cum[-1]))
        ]
        size = SIZE_WEIGHTS[bisect_right(self._size_cum, rng.randrange(self._size_cum[-1]))][0]
        suffix, industry_code = rng.choice(profile.suffixes), rng.choice(profile.codes)
        if individual:
            # A shop or a stall: micro, its operator as legal representative, no shareholders.
            suffix, industry_code = rng.choice(_INDIVIDUAL_SUFFIXES)
            profile = next(p for p in SECTOR_PROFILES if p.sector is sector_of(industry_code))
            size = SizeClass.MICRO
        sector = profile.sector
        distressed = rng.random() < DISTRESS_SHARE
        targets = self._targets(sector, size)
        employees = int(targets[Measure.EMPLOYEES])
        if individual:
            employees = min(employees, rng.randrange(0, 6))
        if size is SizeClass.MICRO and rng.random() < 0.05:
            employees = 0
        revenue_wan = targets[Measure.REVENUE]
        assets_wan = targets[Measure.TOTAL_ASSETS]

        u = rng.random()
        max_days = (self.as_of - self._oldest).days - 90
        founded = self.as_of - timedelta(days=90 + int(max_days * u * u))
        uscc = self._new_uscc(district, founded, "2" if individual else "1")
        capital_fen = rng.choice(_CAPITAL_WAN[size]) * 1_000_000
        if individual:
            capital_fen = rng.choice((1, 3, 5, 10, 20)) * 1_000_000
        street = rng.choice(district.streets)
        address = (
            f"深圳市{district.name}{street}{rng.choice(_ROADS)}{rng.randrange(1, 400)}号"
            f"{rng.choice(_TRADE_CHARS)}{rng.choice(_TRADE_CHARS)}大厦{rng.randrange(1, 30)}"
            f"{rng.randrange(1, 20):02d}室"
        )
        legal_representative = self._person()
        # Most distressed enterprises trade on; some have had their licence revoked (吊销, often
        # for years without an annual report) or have deregistered (注销). Their monthly series
        # and filings stop at that date.
        status, ended = "in_operation", None
        if distressed and founded < self.as_of - timedelta(days=730):
            draw = rng.random()
            if draw < 0.35:
                status = "revoked" if draw < 0.15 else "deregistered"
                ended = self._date_between(self.as_of - timedelta(days=600), self.as_of)
        name = (
            self._trade_name(suffix, "", district.name) if individual else self._trade_name(suffix)
        )
        eid = builder.enterprise(
            uscc=uscc,
            name=name,
            legal_representative=legal_representative,
            registered_capital_fen=capital_fen,
            founded=founded,
            status=status,
            industry_code=industry_code,
            district_code=district.code,
            address=address,
        )
        if not individual:
            self._shareholders(builder, eid, legal_representative, capital_fen)

        first = max(self.first_month, founded.year * 12 + founded.month - 1)
        last = self.last_month
        if ended is not None:
            last = max(first, min(last, ended.year * 12 + ended.month - 2))
        count = last - first + 1
        headcounts = self._headcounts(employees, first, count, distressed, profile.seasonal_labour)
        revenue_by_year = self._revenue_by_year(revenue_wan, founded, distressed)
        if ended is not None:
            revenue_by_year = {y: r for y, r in revenue_by_year.items() if y < ended.year}
        self._monthly(builder, eid, profile, first, headcounts, revenue_by_year, size, distressed)
        employees_by_year = _yearly_average(first, headcounts)
        anchor = revenue_by_year.get(self.tax_year, 0.0)
        assets_by_year = {
            year: assets_wan * revenue / anchor if anchor > 0 else assets_wan
            for year, revenue in revenue_by_year.items()
        }
        if individual:
            # No enterprise income tax return (individual income tax instead) and a short annual
            # report without the balance sheet: taxable revenue only.
            self._tax_years(builder, eid, founded, revenue_by_year, distressed, {}, None)
        else:
            self._tax_years(
                builder,
                eid,
                founded,
                revenue_by_year,
                distressed,
                employees_by_year,
                assets_by_year,
            )
            self._annual_reports(
                builder, eid, revenue_by_year, distressed, employees_by_year, assets_by_year
            )
        if distressed or rng.random() < 0.015:
            self._arrears(builder, eid, headcounts[-1], revenue_wan, distressed)
        self._judicial(builder, eid, district, founded, distressed)
        self._administrative(builder, eid, district, founded, distressed)
        if individual:
            return uscc
        self._high_tech(builder, eid, profile, size, founded)
        self._intellectual_property(builder, eid, profile, size, founded)
        self._customs(builder, eid, profile, founded, revenue_by_year, distressed)
        self._statements(
            builder, eid, profile, size, founded, revenue_by_year, assets_wan, distressed
        )
        return uscc

    def _shareholders(
        self, builder: BatchBuilder, eid: int, legal_representative: str, capital_fen: int
    ) -> None:
        rng = self.rng
        count = 1 + (rng.random() < 0.55) + (rng.random() < 0.25)
        remaining = capital_fen
        for seq in range(1, count + 1):
            # Each founder but the last takes 50 %, 55 %, ..., 85 % of what is left.
            share = remaining if seq == count else remaining * (50 + 5 * rng.randrange(8)) // 100
            remaining -= share
            if seq == 1:
                name, kind = legal_representative, "natural_person"
            elif rng.random() < 0.15:
                name, kind = self._trade_name("投资", "合伙企业(有限合伙)"), "enterprise"
            else:
                name, kind = self._person(), "natural_person"
            builder.shareholder(
                enterprise=eid, seq=seq, name=name, kind=kind, subscribed_capital_fen=share
            )

    def _revenue_by_year(
        self, latest_wan: float, founded: date, distressed: bool
    ) -> dict[int, float]:
        """Revenue in 10,000 yuan per calendar year, from the first year of the history to the
        as-of year; the latest closed tax year carries the target figure."""
        first_year = min(month_start(self.first_month).year, self.tax_year - 2)
        revenue = {self.tax_year: latest_wan}
        for year in range(self.tax_year - 1, first_year - 1, -1):
            growth = self._between(0.7, 1.05) if distressed else self._between(0.85, 1.35)
            revenue[year] = revenue[year + 1] / growth
        for year in range(self.tax_year + 1, self.as_of.year + 1):
            revenue[year] = revenue[year - 1] * self._between(0.9, 1.2)
        for year in list(revenue):
            if year < founded.year:
                del revenue[year]
            elif year == founded.year:
                revenue[year] *= (date(year, 12, 31) - founded).days / 365
        return revenue

    def _monthly(
        self,
        builder: BatchBuilder,
        eid: int,
        profile: SectorProfile,
        first: int,
        headcounts: list[int],
        revenue_by_year: dict[int, float],
        size: SizeClass,
        distressed: bool,
    ) -> None:
        rand = self.rng.random
        micro = size is SizeClass.MICRO
        rate = self._between(0.008, 0.03) if micro else self._between(0.015, 0.05)
        coverage = 0.0
        if rand() > (0.3 if micro else 0.12):
            coverage = self._between(0.4, 1.0)
        utilities = not micro or rand() > 0.1
        gas = profile.gas_per_head > 0 and (profile.sector is not Sector.INDUSTRY or rand() < 0.3)
        on_time = 0.85 if distressed else 0.985
        count = len(headcounts)
        # Tax: a twelfth of the year's revenue (in fen) at the enterprise's effective rate, +-40 %;
        # a micro enterprise declares nothing in about one month in ten.
        monthly_tax = [
            revenue_by_year.get((first + k) // 12, 0.0) * (1_000_000 / 12) * rate
            for k in range(count)
        ]
        tax = [int(t * (0.6 + 0.8 * rand())) for t in monthly_tax]
        if micro:
            tax = [0 if rand() < 0.1 else t for t in tax]
        # Utilities scale with the people on site (at least one).
        heads = [h if h > 0 else 1 for h in headcounts]
        water = power = gas_fen = None
        water_ok = power_ok = gas_ok = None
        if utilities:
            per_head = profile.power_per_head * 100
            power = [int(h * per_head * (0.85 + 0.3 * rand())) for h in heads]
            power_ok = [rand() < on_time for _ in heads]
            per_head = profile.water_per_head * 100
            water = [int(h * per_head * (0.8 + 0.4 * rand())) for h in heads]
            water_ok = [rand() < on_time for _ in heads]
            if gas:
                per_head = profile.gas_per_head * 100
                gas_fen = [int(h * per_head * (0.8 + 0.4 * rand())) for h in heads]
                gas_ok = [rand() < on_time for _ in heads]
        builder.monthly_series(
            enterprise=eid,
            first_month=first,
            insured_headcount=headcounts,
            housing_fund_headcount=(
                [int(h * coverage + 0.5) for h in headcounts] if coverage else None
            ),
            tax_paid_fen=tax,
            water_fen=water,
            water_on_time=water_ok,
            power_fen=power,
            power_on_time=power_ok,
            gas_fen=gas_fen,
            gas_on_time=gas_ok,
        )

    def _tax_years(
        self,
        builder: BatchBuilder,
        eid: int,
        founded: date,
        revenue_by_year: dict[int, float],
        distressed: bool,
        employees_by_year: dict[int, int],
        assets_by_year: dict[int, float] | None,
    ) -> None:
        grades = _DISTRESSED_TAX_GRADES if distressed else _TAX_GRADES
        for year in range(self.tax_year - 2, self.tax_year + 1):
            if year not in revenue_by_year:
                continue
            grade = "M" if year == founded.year else self._pick(grades)
            builder.tax_year(
                enterprise=eid,
                year=year,
                credit_grade=grade,
                taxable_revenue_fen=int(revenue_by_year[year] * 1_000_000),
                employees=employees_by_year.get(year),
                total_assets_fen=(
                    None if assets_by_year is None else int(assets_by_year[year] * 1_000_000)
                ),
            )

    def _annual_reports(
        self,
        builder: BatchBuilder,
        eid: int,
        revenue_by_year: dict[int, float],
        distressed: bool,
        employees_by_year: dict[int, int],
        assets_by_year: dict[int, float],
    ) -> None:
        """Annual reports to the market regulator; a distressed enterprise missed the latest."""
        latest = latest_closed_year(self.as_of, ANNUAL_REPORT_CLOSE)
        for year in range(latest - 2, latest + (0 if distressed else 1)):
            if year not in revenue_by_year or year not in employees_by_year:
                continue
            builder.annual_report(
                enterprise=eid,
                year=year,
                employees=employees_by_year[year],
                total_assets_fen=int(assets_by_year[year] * 1_000_000),
                revenue_fen=int(revenue_by_year[year] * 1_000_000),
            )

    def _arrears(
        self, builder: BatchBuilder, eid: int, heads: int, revenue_wan: float, distressed: bool
    ) -> None:
        rng = self.rng
        for category, share in (
            (Category.SOCIAL_INSURANCE, 0.35),
            (Category.TAX, 0.25),
            (Category.HOUSING_PROVIDENT_FUND, 0.2),
        ):
            if rng.random() >= (share if distressed else 0.4):
                continue
            overdue = rng.randrange(1, 7)
            if category is Category.TAX:
                amount = int(revenue_wan * 1_000_000 / 12 * self._between(0.01, 0.04) * overdue)
            else:
                amount = int(max(heads, 1) * self._between(600, 1600) * 100 * overdue)
            builder.arrears(
                enterprise=eid,
                category=category,
                amount_fen=max(amount, 100),
                since=month_start(self.last_month - overdue + 1),
            )

    def _high_tech(
        self,
        builder: BatchBuilder,
        eid: int,
        profile: SectorProfile,
        size: SizeClass,
        founded: date,
    ) -> None:
        rng = self.rng
        p = profile.high_tech * (0.3 if size is SizeClass.MICRO else 1.0)
        if rng.random() >= p:
            return
        first_year = max(founded.year + 1, self.as_of.year - 7)
        if first_year >= self.as_of.year:
            return
        year = rng.randrange(first_year, self.as_of.year)
        while year < self.as_of.year:
            valid_from = self._date_between(date(year, 10, 20), date(year, 12, 20))
            if valid_from > self.as_of:
                break
            serial = self._serial(f"GR{year}", 200000)
            builder.certificate(
                enterprise=eid,
                certificate_no=f"GR{year}44{serial:06d}",
                valid_from=valid_from,
                valid_to=date(year + 3, valid_from.month, valid_from.day) - timedelta(days=1),
                issuing_body=HIGH_TECH_ISSUER,
            )
            if rng.random() < 0.3:
                break
            year += 3

    def _intellectual_property(
        self,
        builder: BatchBuilder,
        eid: int,
        profile: SectorProfile,
        size: SizeClass,
        founded: date,
    ) -> None:
        rng = self.rng
        innovative = profile.high_tech >= 0.1
        patents = 0
        if innovative and rng.random() < (0.15 if size is SizeClass.MICRO else 0.5):
            patents = rng.randrange(1, 4 if size is SizeClass.MICRO else 15)
        start = founded + timedelta(days=200)
        if start > self.as_of:
            return
        for _ in range(patents):
            granted = self._date_between(start, self.as_of)
            kind = rng.choice(("invention", "utility_model", "utility_model", "design"))
            digit = {"invention": "1", "utility_model": "2", "design": "3"}[kind]
            filed_year = max(founded.year, granted.year - (2 if kind == "invention" else 1))
            serial = self._serial(f"patent{filed_year}{digit}", 100000)
            application = f"{filed_year}{digit}{serial:07d}"
            builder.intellectual_property(
                enterprise=eid,
                kind=f"{kind}_patent",
                number=f"ZL{application}.{patent_check_digit(application)}",
                title=rng.choice(_PATENT_TITLES),
                registered_on=granted,
            )
        if profile.sector in (Sector.RETAIL, Sector.CATERING, Sector.WHOLESALE, Sector.INDUSTRY):
            marks = rng.randrange(1, 4) if rng.random() < 0.25 else 0
            for _ in range(marks):
                serial = self._serial("trademark", 20_000_000)
                builder.intellectual_property(
                    enterprise=eid,
                    kind="trademark",
                    number=str(serial),
                    title=rng.choice(_TRADE_CHARS) + rng.choice(_TRADE_CHARS),
                    nice_class=rng.choice((9, 25, 30, 35, 43)),
                    registered_on=self._date_between(start, self.as_of),
                )
        if innovative and rng.random() < 0.5:
            for _ in range(rng.randrange(1, 8)):
                registered = self._date_between(start, self.as_of)
                serial = self._serial(f"SR{registered.year}", 100000)
                builder.intellectual_property(
                    enterprise=eid,
                    kind="software_copyright",
                    number=f"{registered.year}SR{serial:07d}",
                    title=rng.choice(_COPYRIGHT_TITLES),
                    registered_on=registered,
                )

    def _judicial(
        self, builder: BatchBuilder, eid: int, district: District, founded: date, distressed: bool
    ) -> None:
        rng = self.rng
        court = f"深圳市{district.name}人民法院"
        start = max(founded, self.as_of - timedelta(days=5 * 365))
        suits = 0
        if rng.random() < (0.45 if distressed else 0.06):
            suits = rng.randrange(1, 5 if distressed else 3)
        for _ in range(suits):
            filed = self._date_between(start, self.as_of)
            serial = self._serial(f"civil{district.court}{filed.year}", 1000)
            closed = filed + timedelta(days=rng.randrange(60, 400))
            defendant = rng.random() < (0.8 if distressed else 0.5)
            builder.court_record(
                enterprise=eid,
                kind="lawsuit",
                case_no=f"({filed.year})粤{district.court}民初{serial}号",
                court=court,
                role="defendant" if defendant else "plaintiff",
                cause=rng.choice(_CAUSES),
                amount_fen=int(self._skewed(1, 300) * 1_000_000) // 100 * 100,
                filed_on=filed,
                status="closed" if closed <= self.as_of else "pending",
                closed_on=closed if closed <= self.as_of else None,
            )
        if distressed and rng.random() < 0.2:
            filed = self._date_between(start, self.as_of)
            serial = self._serial(f"enforce{district.court}{filed.year}", 500)
            case_no = f"({filed.year})粤{district.court}执{serial}号"
            closed = filed + timedelta(days=rng.randrange(90, 500))
            done = closed <= self.as_of
            builder.court_record(
                enterprise=eid,
                kind="enforcement",
                case_no=case_no,
                court=court,
                amount_fen=int(self._skewed(1, 200) * 1_000_000) // 100 * 100,
                filed_on=filed,
                status="closed" if done else "pending",
                closed_on=closed if done else None,
            )
            listed = filed + timedelta(days=rng.randrange(30, 180))
            if not done and listed <= self.as_of and rng.random() < 0.4:
                builder.court_record(
                    enterprise=eid,
                    kind="dishonest_debtor",
                    case_no=case_no,
                    court=court,
                    filed_on=listed,
                    status="listed",
                )

    def _administrative(
        self, builder: BatchBuilder, eid: int, district: District, founded: date, distressed: bool
    ) -> None:
        rng = self.rng
        authority = f"深圳市市场监督管理局{district.name.removesuffix('区')}监管局"
        start = max(founded, self.as_of - timedelta(days=3 * 365))
        if rng.random() < (0.15 if distressed else 0.03):
            # Five years back: penalties older than their publication period stay in the bureau
            # and are left out of documents at read time.
            decided = self._date_between(
                max(founded, self.as_of - timedelta(days=5 * 365)), self.as_of
            )
            serial = self._serial(f"penalty{district.code}{decided.year}", 100)
            amount_yuan = rng.choice((2000, 5000, 10000, 30000, 50000, 100000))
            repaired = decided + timedelta(days=rng.randrange(120, 700))
            builder.administrative_record(
                enterprise=eid,
                kind="penalty",
                reference=f"深市监{district.court}罚[{decided.year}]{serial}号",
                authority=authority,
                reason=rng.choice(_PENALTY_REASONS),
                amount_fen=amount_yuan * 100,
                dated_on=decided,
                minor=amount_yuan <= 5000,
                removed_on=repaired if repaired <= self.as_of and rng.random() < 0.3 else None,
            )
        if rng.random() < (0.12 if distressed else 0.01):
            listed = self._date_between(start, self.as_of)
            serial = self._serial(f"abnormal{district.code}{listed.year}", 100)
            removed = listed + timedelta(days=rng.randrange(30, 400))
            builder.administrative_record(
                enterprise=eid,
                kind="abnormal_operation",
                reference=f"深市监{district.court}异[{listed.year}]{serial}号",
                authority=authority,
                reason=rng.choice(_ABNORMAL_REASONS),
                dated_on=listed,
                removed_on=removed if removed <= self.as_of and rng.random() < 0.6 else None,
            )

    def _customs(
        self,
        builder: BatchBuilder,
        eid: int,
        profile: SectorProfile,
        founded: date,
        revenue_by_year: dict[int, float],
        distressed: bool,
    ) -> None:
        rng = self.rng
        if rng.random() >= profile.customs:
            return
        registered = self._date_between(founded, self.as_of - timedelta(days=30))
        grade = self._pick(_CUSTOMS_GRADES)
        if distressed and rng.random() < 0.3:
            grade = "dishonest"
        serial = self._serial("customs", 4403960000)
        builder.customs_registration(
            enterprise=eid, customs_code=str(serial), credit_grade=grade, registered_on=registered
        )
        imports = self._between(0.05, 0.6)
        exports = self._between(0.0, 0.5)
        for year in range(self.tax_year - 2, self.tax_year + 1):
            revenue = revenue_by_year.get(year)
            if revenue is None or year < registered.year:
                continue
            builder.customs_year(
                enterprise=eid,
                year=year,
                import_fen=int(revenue * 1_000_000 * imports * self._between(0.8, 1.2)),
                export_fen=int(revenue * 1_000_000 * exports * self._between(0.8, 1.2)),
            )

    def _statements(
        self,
        builder: BatchBuilder,
        eid: int,
        profile: SectorProfile,
        size: SizeClass,
        founded: date,
        revenue_by_year: dict[int, float],
        assets_wan: float,
        distressed: bool,
    ) -> None:
        rng = self.rng
        base = {SizeClass.MICRO: 0.3, SizeClass.SMALL: 1.0, SizeClass.MEDIUM: 2.5}
        p = min(1.0, profile.audited * base.get(size, 5.0))
        if rng.random() >= p:
            return
        auditor = rng.choice(_AUDITORS)
        assets = assets_wan
        for year in range(self.audit_year, self.audit_year - 3, -1):
            revenue = revenue_by_year.get(year)
            if revenue is None or year <= founded.year:
                break
            margin = self._between(-0.25, 0.02) if distressed else self._between(-0.06, 0.15)
            opinion = self._pick(_OPINIONS)
            if distressed and rng.random() < 0.2:
                opinion = "qualified"
            builder.statement(
                enterprise=eid,
                fiscal_year=year,
                revenue_fen=int(revenue * self._between(0.97, 1.03) * 1_000_000),
                total_assets_fen=int(assets * 1_000_000),
                net_profit_fen=int(revenue * margin * 1_000_000),
                audit_opinion=opinion,
                auditor=auditor,
            )
            assets = assets / self._between(0.9, 1.25)

"""Consent receipts: what the enterprise keeps, in words and in terms, committed to on the chain.

A receipt follows the structure of an ISO/IEC TS 27560 consent record (and the Kantara consent
receipt it grew from): who the data subject is, who the controller is, who receives the data, for
which purpose, which data, for how long, and how to withdraw. It also carries ``terms``: the
signed EIP-712 message itself (JSON form, without ``receiptHash``), so the words and the signed
terms can be checked against each other.

The Consent message's ``receiptHash`` is ``keccak256(salt || RFC 8785 bytes of the receipt)``: a
receipt names the USCC, and an unsalted hash of it could be tested against every USCC of a public
registry. The salt (``consentledger.subject.receipt_salt``) is the bureau's, derived under its
subject key from the consent's subject and nonce, and given to the enterprise with the draft.
A receipt cannot name the consent id: the id is the digest of a message that contains the
receipt's hash. The withdrawal section therefore names the endpoint with a ``{consent_id}``
placeholder and says how the id is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils.crypto import keccak

from consentledger.bureau.documents import JSONObject, JSONValue, canonical_bytes
from consentledger.bureau.sources import SOURCE_DEPARTMENTS
from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.gateway import eip712_json
from consentledger.gateway.banks import BankName
from consentledger.gateway.errors import ReceiptHashMismatchError, ReceiptTermsMismatchError
from consentledger.ledger.types import ConsentTerms, PurposeCaps

#: Version tag of the receipt layout.
RECEIPT_SCHEMA = "consentledger.consent-receipt/3"

#: The rules enterprise credit data is released under (征信业管理条例 and 征信业务管理办法), and
#: where the Personal Information Protection Law still applies.
LEGAL_BASIS: JSONObject = {
    "credit_reporting": "征信业管理条例 (State Council Order No. 631, 2013): art. 17, the "
    "enterprise's right to obtain its own credit information; art. 25, its right to dispute a "
    "record (the bureau marks it and answers in writing within 20 days)",
    "authorisation": "征信业务管理办法 (PBOC Order 2021 No. 4): credit information is obtained "
    "with the subject's authorisation, for the purpose it names only",
    "personal_information": "个人信息保护法 (PIPL) applies only to the personal fields inside "
    "the records (legal representative, natural-person shareholders)",
}

#: The purposes whose authorisation runs until the credit is settled, within the consent's cap.
UNTIL_SETTLED = frozenset({Purpose.POST_LOAN_MONITORING})

DAY = 24 * 60 * 60


def iso(timestamp: int) -> str:
    """A Unix time as RFC 3339 UTC (``2025-06-30T08:00:00Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def known_category(code: int) -> Category | None:
    """The category of a code, or None for a code governance registered after this release."""
    try:
        return Category(code)
    except ValueError:
        return None


def category_refs(mask: int) -> list[dict[str, Any]]:
    """The categories of a mask, by code, with their names where the table knows them."""
    refs: list[dict[str, Any]] = []
    for code in range(mask.bit_length()):
        if mask >> code & 1:
            category = known_category(code)
            refs.append({"code": code, "name": category.slug if category else None})
    return refs


def purpose_name(code: int) -> str | None:
    """A purpose's name, where the table knows the code."""
    try:
        return Purpose(code).slug
    except ValueError:
        return None


def known_purpose(code: int) -> Purpose | None:
    """The purpose of a code, or None for a code governance defined after this release."""
    try:
        return Purpose(code)
    except ValueError:
        return None


def _day(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def authorisation_form(terms: ConsentTerms, facts: ReceiptFacts) -> str:
    """The consent as a written authorisation (授权书), the form credit practice uses: the bank's
    full name, the purpose, the scope, the term, how to revoke, and what may follow."""
    purpose = known_purpose(terms.purpose)
    purpose_text = purpose.name_zh if purpose else f"用途代码 {terms.purpose}"
    names = []
    for ref in category_refs(terms.categories):
        category = known_category(ref["code"])
        names.append(category.name_zh if category else f"类别 {ref['code']}")
    bank = (
        f"{facts.bank_name.name_zh}（金融许可证机构编码：{facts.bank_name.licence_number}；"
        f"链上地址：{terms.bank}）"
        if facts.bank_name is not None
        else f"链上地址为 {terms.bank} 的银行"
    )
    term = f"{_day(terms.not_before)}起至{_day(terms.expires_at)}止"
    if purpose in UNTIL_SETTLED:
        term = (
            f"{_day(terms.not_before)}起至本企业在贵行的授信业务全部结清之日止，最迟不超过"
            f"{_day(terms.expires_at)}（每份授权最长 {facts.caps.max_duration // DAY} 日；授信"
            "尚未结清的，可另行签署授权）"
        )
    reads = terms.max_reads or facts.caps.max_reads
    return "\n".join(
        (
            "授权书",
            f"致：{bank}",
            f"本企业（统一社会信用代码：{facts.uscc}）依据《征信业管理条例》和"
            f"《征信业务管理办法》，授权贵行通过城市信用信息平台查询本企业的下列信息，仅用于{purpose_text}：",
            f"一、查询范围：{'、'.join(names)}；时间序列为最近 {terms.history_months} 个完整月份"
            f"的数据及各项最新数据；查询次数不超过 {reads} 次。",
            f"二、授权期限：自{term}。",
            "三、撤销方式：本企业可随时由控制人按授权时的签署门槛签署撤销指令并提交平台"
            "（POST /v1/consents/{consent_id}/revoke），撤销自下一个区块起生效，"
            "此后的查询将被拒绝。",
            "四、可能的后果：贵行可能依据所查询的信息作出批准或拒绝授信、调整授信额度、利率或期限、"
            "要求追加担保或提前收回贷款等决定；信息中的不良记录可能对本企业产生不利影响。"
            "本企业有权查询本企业的信用信息，并可对错误或遗漏的记录提出异议（《征信业管理条例》"
            "第十七条、第二十五条）。",
            "五、每一次查询（查询银行、信息类别、用途、时间及结果）均记录在联盟链上，"
            "本企业可随时查看。",
        )
    )


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """What a receipt says beyond the terms: names, the purpose's caps, where the ledger is."""

    uscc: str
    #: The bank's legal names (None: a bank without them, named by its address).
    bank_name: BankName | None
    caps: PurposeCaps
    domain: typed_data.Domain
    gateway: str
    issued_at: int


def terms_json(terms: ConsentTerms) -> dict[str, Any]:
    """The signed message's JSON form without ``receiptHash``: the receipt's ``terms``."""
    message = eip712_json.as_json("Consent", terms.message())
    message.pop("receiptHash")
    return message


def build_receipt(terms: ConsentTerms, facts: ReceiptFacts) -> JSONObject:
    """The receipt of ``terms`` (their ``receipt_hash`` is ignored: it is what this hashes to)."""
    categories: list[JSONValue] = []
    for ref in category_refs(terms.categories):
        category = known_category(ref["code"])
        source = SOURCE_DEPARTMENTS.get(category) if category else None
        names = {"name_zh": category.name_zh, "name_en": category.name_en} if category else {}
        categories.append({**ref, **names, "source": source})
    purpose = known_purpose(terms.purpose)
    domain = facts.domain.as_dict()
    revocation = typed_data.typed_data(
        facts.domain, "Revocation", {"consentId": "{consent_id}", "nonce": "{nonce}"}
    )
    revocation["message"]["deadline"] = "{deadline}"
    receipt: JSONObject = {
        "schema": RECEIPT_SCHEMA,
        "framework": "ISO/IEC TS 27560:2023 consent record; Kantara Consent Receipt",
        "language": "en",
        "issued_at": iso(facts.issued_at),
        "consent_type": "explicit: signed by the enterprise's controllers (EIP-712)",
        "data_subject": {
            "kind": "enterprise",
            "uscc": facts.uscc,
            "subject_id": "0x" + terms.subject.hex(),
        },
        "controller": {
            "role": "city credit bureau (local credit platform): holds the government data "
            "and releases it only after the ledger has recorded the read",
            "gateway": facts.gateway,
            "ledger": {"chain_id": domain["chainId"], "contract": domain["verifyingContract"]},
        },
        "recipients": [
            {
                "role": "bank",
                "address": terms.bank,
                "name_zh": facts.bank_name.name_zh if facts.bank_name else None,
                "name_en": facts.bank_name.name_en if facts.bank_name else None,
                "licence_number": facts.bank_name.licence_number if facts.bank_name else None,
            }
        ],
        "purpose": {
            "code": terms.purpose,
            "name": purpose_name(terms.purpose),
            "name_zh": purpose.name_zh if purpose else None,
            "name_en": purpose.name_en if purpose else None,
        },
        "legal_basis": LEGAL_BASIS,
        "authorisation": {
            "title": "授权书",
            "language": "zh-CN",
            "text": authorisation_form(terms, facts),
        },
        "data": {"categories": categories, "categories_mask": str(terms.categories)},
        "period": {"not_before": iso(terms.not_before), "expires_at": iso(terms.expires_at)},
        "history_window": {
            "months": terms.history_months,
            "meaning": "each time series shows the points of the last "
            f"{terms.history_months} complete months, and always its latest point",
        },
        "reads": {
            "max_reads": terms.max_reads,
            "effective_max_reads": terms.max_reads or facts.caps.max_reads,
            "meaning": "granted reads the bank may make; 0 means the purpose's cap",
        },
        "purpose_caps": {
            "max_duration_days": facts.caps.max_duration // DAY,
            "max_reads": facts.caps.max_reads,
            "max_history_months": facts.caps.max_history_months,
        },
        "retention": "The consent and every read of the data (bank, categories, purpose, time, "
        "granted or denied) are recorded on the ledger for good; the data itself never is, only "
        "a salted hash of each release.",
        "withdrawal": {
            "how": "Sign a Revocation of this consent with the enterprise's controllers (the "
            "same threshold as for granting) and send it. It takes effect from the next block: "
            "reads recorded after it are denied (REVOKED). Pausing and resuming work the same way.",
            "endpoint": "POST /v1/consents/{consent_id}/revoke",
            "draft_endpoint": 'POST /v1/consents/{consent_id}/actions/draft {"action": "revoke"}',
            "consent_id": "the EIP-712 digest of the signed Consent message",
            "typed_data": revocation,
        },
        "transparency": {
            "accesses": "GET /v1/enterprises/{uscc}/accesses",
            "consents": "GET /v1/enterprises/{uscc}/consents",
            "export": "POST /v1/enterprises/{uscc}/export",
            "sign_in": "POST /v1/auth/challenge (EIP-4361), then Authorization: SIWE; or a "
            "session: POST /v1/enterprises/{uscc}/sessions",
        },
        "terms": terms_json(terms),
    }
    return receipt


def receipt_hash(receipt: JSONValue, salt: bytes) -> bytes:
    """``keccak256(salt || the receipt's RFC 8785 canonical bytes)``: the Consent's
    ``receiptHash``."""
    return keccak(salt + canonical_bytes(receipt))


def check_receipt(
    receipt: Mapping[str, Any],
    terms: ConsentTerms,
    subject_of: Callable[[str], bytes],
    salt: bytes,
) -> None:
    """Refuse (422) a receipt that is not the one ``terms`` commit to with ``salt``, or that
    describes other terms or another enterprise than the signed message."""
    given = dict(receipt)
    calculated = receipt_hash(given, salt)
    if calculated != terms.receipt_hash:
        raise ReceiptHashMismatchError(
            "keccak256(salt || the receipt's RFC 8785 bytes) is not the message's receiptHash",
            expected="0x" + terms.receipt_hash.hex(),
            calculated="0x" + calculated.hex(),
        )
    if given.get("terms") != terms_json(terms):
        raise ReceiptTermsMismatchError(
            "the receipt's terms are not the signed message's",
        )
    subject = given.get("data_subject")
    uscc = subject.get("uscc") if isinstance(subject, dict) else None
    if not isinstance(uscc, str) or subject_of(uscc) != terms.subject:
        raise ReceiptTermsMismatchError(
            "the receipt's data subject (USCC) is not the signed message's subject",
        )

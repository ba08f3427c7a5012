"""EIP-4361 messages: the specification's examples parse and render back byte for byte; anything
the ABNF does not allow is refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from consentledger.gateway.siwe import SiweFormatError, SiweMessage, parse_message

# The example of EIP-4361, and the same with every optional field.
SPEC_EXAMPLE = """example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""

FULL = """https://example.com:8443 wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com:8443/login
Version: 1
Chain ID: 131277322940537
Nonce: 0123456789abcdefABCDEF
Issued At: 2021-09-30T16:25:24Z
Expiration Time: 2021-09-30T16:30:24Z
Not Before: 2021-09-30T16:25:00Z
Request ID: some-request_1
Resources:
- urn:consentledger:enterprise:91440305MA5DKW7Q1B"""

NO_STATEMENT = """example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2


URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z"""


def test_the_specification_example() -> None:
    message = parse_message(SPEC_EXAMPLE)
    assert message.domain == "example.com"
    assert message.scheme is None
    assert message.address == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert message.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert message.uri == "https://example.com/login"
    assert (message.version, message.chain_id, message.nonce) == ("1", 1, "32891756")
    assert message.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert message.expiration_time is None
    assert len(message.resources) == 2
    assert message.render() == SPEC_EXAMPLE


@pytest.mark.parametrize("text", [SPEC_EXAMPLE, FULL, NO_STATEMENT], ids=["spec", "full", "bare"])
def test_render_is_the_inverse_of_parse(text: str) -> None:
    assert parse_message(text).render() == text


def test_every_optional_field() -> None:
    message = parse_message(FULL)
    assert (message.scheme, message.domain) == ("https", "example.com:8443")
    assert message.chain_id == 131277322940537
    assert message.expiration_time == datetime(2021, 9, 30, 16, 30, 24, tzinfo=UTC)
    assert message.not_before == datetime(2021, 9, 30, 16, 25, tzinfo=UTC)
    assert message.request_id == "some-request_1"
    assert message.resources == ("urn:consentledger:enterprise:91440305MA5DKW7Q1B",)


def test_offsets_and_fractions_in_times() -> None:
    text = SPEC_EXAMPLE.replace("2021-09-30T16:25:24Z", "2021-09-30T18:25:24.250+02:00")
    assert parse_message(text).issued_at == datetime(2021, 9, 30, 16, 25, 24, 250000, tzinfo=UTC)


def test_a_message_built_in_code_renders_to_what_parses_back() -> None:
    message = SiweMessage(
        domain="gateway.test",
        address="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        statement="Sign in.",
        uri="https://gateway.test/v1",
        chain_id=5,
        nonce="abcdefgh",
        issued_at=datetime(2025, 1, 1, tzinfo=UTC),
        resources=("urn:x:y",),
    )
    assert parse_message(message.render()) == message


def _swap(old: str, new: str) -> Callable[[str], str]:
    def apply(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return apply


MALFORMED: list[tuple[str, Callable[[str], str]]] = [
    ("CRLF line ends", lambda t: t.replace("\n", "\r\n")),
    ("trailing newline", lambda t: t + "\n"),
    ("another preamble", _swap("wants you to sign in", "would like you to sign in")),
    ("domain with a space", _swap("example.com wants", "exa mple.com wants")),
    (
        "address not checksummed",
        _swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0x" + "c0" * 20),
    ),
    ("address too short", _swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39")),
    ("no blank line after the address", _swap("Cc2\n\nI accept", "Cc2\nI accept")),
    ("no blank line after the statement", _swap("tos\n\nURI", "tos\nURI")),
    ("statement with a quote", _swap("I accept the", 'I "accept" the')),
    ("statement over two lines", _swap("ExampleOrg Terms", "ExampleOrg\nTerms")),
    ("version 2", _swap("Version: 1", "Version: 2")),
    ("chain id not a number", _swap("Chain ID: 1", "Chain ID: one")),
    ("short nonce", _swap("Nonce: 32891756", "Nonce: 1234567")),
    ("nonce with a dash", _swap("Nonce: 32891756", "Nonce: 3289-1756")),
    ("impossible date", _swap("2021-09-30T16:25:24Z", "2021-13-30T16:25:24Z")),
    ("date without a zone", _swap("2021-09-30T16:25:24Z", "2021-09-30T16:25:24")),
    ("fields out of order", _swap("Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1")),
    ("field name in lower case", _swap("URI: ", "uri: ")),
    (
        "URI with a space",
        _swap("URI: https://example.com/login", "URI: https://example.com/ login"),
    ),
    ("resource not a URI", _swap("- https://example.com/my", "- example com/my")),
    ("unknown field", _swap("Resources:", "Colour: blue\nResources:")),
    ("text after the resources", lambda t: t + "\nthank you"),
    ("truncated", lambda t: t[: t.index("Version")]),
    ("empty", lambda _t: ""),
]


@pytest.mark.parametrize("mangle", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_messages_are_refused(mangle: Callable[[str], str]) -> None:
    with pytest.raises(SiweFormatError):
        parse_message(mangle(SPEC_EXAMPLE))

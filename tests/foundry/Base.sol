// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentLedger} from "contracts/ConsentLedger.sol";
import {IConsents} from "contracts/interfaces/IConsents.sol";
import {IAccessLedger} from "contracts/interfaces/IAccessLedger.sol";
import {Cheats} from "./Vm.sol";

/// @dev A small consortium: three banks, three enterprises (1-of-1, 2-of-3, 1-of-2 controllers),
/// categories 1..4, purpose 1 (all categories, 365 days, 5 reads) and purpose 2 (categories 1..2,
/// 30 days, 3 reads); and the EIP-712 signing the enterprises do.
abstract contract Consortium is Cheats {
    /// @dev A read as the tests think of it; {_record} sends a batch of them.
    struct Read {
        uint256 queryId;
        bytes32 consentId;
        address bank;
        uint64 categories;
        uint16 purpose;
    }

    bytes32 internal constant CONSENT_TYPEHASH = keccak256(
        "Consent(bytes32 subject,address bank,uint256 categories,uint16 purpose,uint64 notBefore,"
        "uint64 expiresAt,uint32 maxReads,uint16 historyMonths,bytes32 receiptHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOCATION_TYPEHASH = keccak256("Revocation(bytes32 consentId,uint256 nonce,uint256 deadline)");
    bytes32 internal constant PAUSE_TYPEHASH = keccak256("Pause(bytes32 consentId,uint256 nonce,uint256 deadline)");
    bytes32 internal constant RESUME_TYPEHASH = keccak256("Resume(bytes32 consentId,uint256 nonce,uint256 deadline)");
    bytes32 internal constant READ_REQUEST_TYPEHASH = keccak256(
        "ReadRequest(bytes32 consentId,address bank,uint256 categories,uint16 purpose,uint16 historyMonths,"
        "uint64 requestId,uint64 deadline)"
    );
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    uint256 internal constant BANKS = 3;
    uint256 internal constant ENTERPRISES = 3;
    uint256 internal constant STRANGER_KEY = 0xBAD0000;

    ConsentLedger internal ledger;
    address[BANKS] internal banks;
    bytes32[ENTERPRISES] internal subjects;

    function _deploy(address regulator) internal {
        vm.warp(1_750_000_000);
        ledger = new ConsentLedger(address(this));
        ledger.grantRole(ledger.BUREAU_ROLE(), address(this));
        for (uint256 i = 0; i < BANKS; ++i) {
            banks[i] = vm.addr(_bankKey(i));
            ledger.grantRole(ledger.BANK_ROLE(), banks[i]);
        }
        for (uint8 code = 1; code <= 4; ++code) {
            ledger.registerCategory(code, "category");
        }
        ledger.definePurpose(1, "credit assessment", 0x1E, 365 days, 5, 24);
        ledger.definePurpose(2, "monitoring", 0x06, 30 days, 3, 12);
        for (uint256 e = 0; e < ENTERPRISES; ++e) {
            subjects[e] = keccak256(abi.encode("enterprise", e));
            uint256 count = _controllerCount(e);
            address[] memory controllers = new address[](count);
            for (uint256 k = 0; k < count; ++k) {
                controllers[k] = vm.addr(_controllerKey(e, k));
            }
            ledger.registerEnterprise(subjects[e], controllers, _threshold(e));
        }
        if (regulator != address(this)) {
            ledger.grantRole(ledger.REGULATOR_ROLE(), regulator);
            ledger.grantRole(ledger.BUREAU_ROLE(), regulator);
        }
    }

    function _controllerCount(uint256 e) internal pure returns (uint256) {
        return e == 0 ? 1 : (e == 1 ? 3 : 2);
    }

    function _bankKey(uint256 b) internal pure returns (uint256) {
        return 0xB0000 + b;
    }

    /// @dev The key of a consortium bank (0: not one of them; its reads go unsigned).
    function _keyOf(address bank) internal view returns (uint256) {
        for (uint256 b = 0; b < BANKS; ++b) {
            if (banks[b] == bank) return _bankKey(b);
        }
        return 0;
    }

    function _threshold(uint256 e) internal pure returns (uint8) {
        return e == 1 ? 2 : 1;
    }

    function _controllerKey(uint256 e, uint256 k) internal pure returns (uint256) {
        return 0xC0000 + e * 16 + k;
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(_DOMAIN_TYPEHASH, keccak256("ConsentLedger"), keccak256("1"), block.chainid, address(ledger))
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @dev Signatures over `structHash` by enterprise `e`'s first `threshold` controllers, or, when
    /// `forged`, by as many keys that are no controller of anyone.
    function _sign(uint256 e, bytes32 structHash, bool forged) internal view returns (bytes[] memory sigs) {
        bytes32 digest = _digest(structHash);
        uint256 n = _threshold(e);
        sigs = new bytes[](n);
        for (uint256 k = 0; k < n; ++k) {
            uint256 key = forged ? STRANGER_KEY + k : _controllerKey(e, k);
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            sigs[k] = abi.encodePacked(r, s, v);
        }
    }

    function _nonceAccount(uint256 e) internal view returns (address) {
        return ledger.subjectNonceAccount(subjects[e]);
    }

    /// @dev Terms for enterprise `e` and bank `b` under `purpose`: every category the purpose allows,
    /// valid from now for 30 days, the purpose's read cap, the current nonce under `key`.
    function _terms(uint256 e, uint256 b, uint16 purpose, uint192 key) internal view returns (IConsents.ConsentTerms memory t) {
        t.subject = subjects[e];
        t.bank = banks[b];
        t.categories = purpose == 1 ? 0x1E : 0x06;
        t.purpose = purpose;
        t.notBefore = uint64(block.timestamp);
        t.expiresAt = uint64(block.timestamp + 30 days);
        t.historyMonths = 12;
        t.receiptHash = keccak256(abi.encode("receipt", e, block.timestamp));
        t.nonce = ledger.nonces(_nonceAccount(e), key);
        t.deadline = block.timestamp + 1 hours;
    }

    function _grantSigned(IConsents.ConsentTerms memory t, uint256 e, bool forged) internal returns (bool ok, bytes32 id) {
        bytes[] memory sigs = _sign(e, keccak256(abi.encode(CONSENT_TYPEHASH, t)), forged);
        try ledger.grantConsent(t, sigs) returns (bytes32 consentId) {
            return (true, consentId);
        } catch {
            return (false, bytes32(0));
        }
    }

    function _entry(uint256 queryId, bytes32 consentId, address bank, uint64 categories, uint16 purpose)
        internal
        pure
        returns (Read memory)
    {
        return Read(queryId, consentId, bank, categories, purpose);
    }

    /// @dev The `access` word of a read (IAccessLedger.AccessEntry), reason bits 0.
    function _access(Read memory read) internal pure returns (uint256) {
        return uint256(uint160(read.bank)) << 96 | uint256(read.categories) << 32 | uint256(read.purpose) << 16;
    }

    /// @dev The entry of a read as its bank signs it: a ReadRequest for 12 months of history, with
    /// the query id's low 64 bits as request id, valid ten minutes (unsigned for a bank without a
    /// key here).
    function _signedEntry(Read memory read) internal view returns (IAccessLedger.AccessEntry memory entry) {
        uint64 requestId = uint64(read.queryId);
        uint64 deadline = uint64(block.timestamp + 10 minutes);
        entry.consentId = read.consentId;
        entry.access = _access(read);
        entry.responseHash = keccak256(abi.encode(read.queryId));
        entry.request = uint256(requestId) << 96 | uint256(deadline) << 32 | uint256(12) << 16;
        uint256 key = _keyOf(read.bank);
        if (key == 0) return entry;
        bytes32 structHash = keccak256(
            abi.encode(
                READ_REQUEST_TYPEHASH, read.consentId, read.bank, uint256(read.categories), read.purpose, 12, requestId, deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(structHash));
        entry.r = r;
        entry.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    /// @dev `recordAccesses` as the contract takes it: the first query id (the reads' ids are
    /// consecutive from it) and one signed entry per read.
    function _record(Read[] memory reads) internal {
        IAccessLedger.AccessEntry[] memory entries = new IAccessLedger.AccessEntry[](reads.length);
        for (uint256 i = 0; i < reads.length; ++i) {
            require(reads[i].queryId == reads[0].queryId + i, "query ids not consecutive");
            entries[i] = _signedEntry(reads[i]);
        }
        ledger.recordAccesses(reads.length == 0 ? 0 : reads[0].queryId, entries);
    }
}

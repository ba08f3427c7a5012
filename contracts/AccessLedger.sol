// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Consents} from "./Consents.sol";
import {IAccessLedger} from "./interfaces/IAccessLedger.sol";

/// @title AccessLedger: the chain judges and records every read the bureau is asked for, as the bank signed it.
/// @dev The bureau submits reads in batches. Each entry carries the bank's EIP-712 `ReadRequest` signature
/// (see {IAccessLedger.AccessEntry}); it is judged against the bank's request and then against its consent
/// as it stands at that moment, and becomes one event: {DataAccessed} (the bureau may release) or
/// {AccessDenied} with a reason. A denial never reverts the batch. No {DataAccessed} is emitted for an entry
/// whose signature does not recover to the bank's read signer over exactly that entry's consent, bank,
/// categories, purpose, history window, request id and deadline. Reads live in events; the only storage
/// written per read is the consent's read counter, and a denied read writes none. Per read, calldata is six
/// words and the event two topics and two or three data words; the batch carries its first query id once.
/// Reasons are checked in this order: REQUEST_EXPIRED, REQUEST_LIFETIME_TOO_LONG, SIGNATURE_INVALID,
/// NO_CONSENT, BANK_MISMATCH, BANK_SUSPENDED, REVOKED, EXPIRED, PAUSED, NOT_YET_VALID, PURPOSE_MISMATCH,
/// CATEGORY_NOT_CONSENTED, READS_EXHAUSTED.
///
/// Replays. The ledger keeps no record of used request ids: a storage slot per request would cost
/// about 20,000 gas per read, twice the read itself. What bounds a replayed request instead: it can be
/// recorded only while its deadline has not passed, and that deadline is at most
/// {MAX_READ_REQUEST_LIFETIME} ahead of the block that records it; each recording counts against the
/// consent's reads; and every request id is in the chain's transaction input, so an auditor flags a
/// request id recorded twice from chain data alone.
abstract contract AccessLedger is IAccessLedger, Consents {
    /// @notice The furthest ahead a read request's deadline may lie when it is recorded.
    uint256 public constant MAX_READ_REQUEST_LIFETIME = 1 hours;

    /// @dev The EIP-712 type a bank signs for each read.
    bytes32 private constant _READ_REQUEST_TYPEHASH = keccak256(
        "ReadRequest(bytes32 consentId,address bank,uint256 categories,uint16 purpose,uint16 historyMonths,"
        "uint64 requestId,uint64 deadline)"
    );

    /// @dev The sequence part of a query id (its low 96 bits; the relayer is in the top 160).
    uint256 private constant _SEQUENCE_MASK = (1 << 96) - 1;

    /// @dev Bytes of calldata per {AccessEntry}: six words.
    uint256 private constant _ENTRY_SIZE = 192;

    /// @dev Bit offsets of the {ConsentRecord} fields in its storage word.
    uint256 private constant _REC_NOT_BEFORE = 24;
    uint256 private constant _REC_EXPIRES_AT = 64;
    uint256 private constant _REC_MAX_READS = 104;
    uint256 private constant _REC_READS_USED = 136;
    uint256 private constant _REC_PURPOSE = 168;
    uint256 private constant _REC_STATE = 184;
    uint256 private constant _REC_CATEGORIES = 192;

    mapping(address relayer => uint256) private _lastQueryId;

    /// @notice Judge and record a batch of reads, each signed by its bank.
    /// @dev The entries' query ids are `firstQueryId`, `firstQueryId + 1`, ... in order: a batch is a
    /// run of consecutive ids, so calldata carries one id per batch, not one per read.
    /// Requirements: caller has BUREAU_ROLE; the batch is not empty; every query id of the batch
    /// carries the caller's address in its top 160 bits; `firstQueryId` is above the caller's last
    /// recorded query id. A relayer-integrity failure reverts the whole batch; a denied read does not,
    /// and neither does a bad or expired bank signature: it is a denial of that read alone, on the
    /// chain for anyone to see, and the batch's other banks' reads go through.
    /// Emits one {DataAccessed} or {AccessDenied} event per entry, in order.
    function recordAccesses(uint256 firstQueryId, AccessEntry[] calldata entries) external onlyRole(BUREAU_ROLE) {
        if (entries.length == 0) revert AccessLedgerEmptyBatch();
        _checkQueryIds(_msgSender(), firstQueryId, entries.length);
        bytes32 accessedTopic = DataAccessed.selector;
        bytes32 deniedTopic = AccessDenied.selector;
        uint256 queryId = firstQueryId;
        address bank;
        uint24 bankId;
        bool bankActive;
        address signer;
        // The entries are read straight from calldata: the ABI decoder has checked that all
        // entries of `_ENTRY_SIZE` bytes lie inside it, so `at` stays within bounds and cannot overflow.
        uint256 first;
        uint256 end;
        assembly ("memory-safe") {
            first := entries.offset
            end := add(first, mul(entries.length, _ENTRY_SIZE))
        }
        for (uint256 at = first; at < end; ) {
            bytes32 consentId;
            uint256 access;
            assembly ("memory-safe") {
                consentId := calldataload(at)
                access := and(calldataload(add(at, 32)), not(0xffff))
            }
            // A bank's standing and signer cannot change inside this call: look them up once per run
            // of its reads.
            if (at == first || address(uint160(access >> 96)) != bank) {
                bank = address(uint160(access >> 96));
                (bankId, bankActive, signer) = _bankReadStanding(bank);
            }
            DenialReason reason = _checkRequest(at, consentId, access, signer);
            if (reason == DenialReason.NONE) reason = _judge(consentId, access, bankId, bankActive);
            // One event per entry, as `emit DataAccessed(consentId, queryId, access, responseHash)` or
            // `emit AccessDenied(consentId, queryId, access | reason)` would log it, encoded in the
            // scratch space above the free memory pointer so memory does not grow with the batch.
            assembly ("memory-safe") {
                let data := mload(0x40)
                mstore(data, queryId)
                switch reason
                case 0 {
                    mstore(add(data, 32), access)
                    mstore(add(data, 64), calldataload(add(at, 64)))
                    log2(data, 96, accessedTopic, consentId)
                }
                default {
                    mstore(add(data, 32), or(access, reason))
                    log2(data, 64, deniedTopic, consentId)
                }
            }
            // queryId stays within the relayer's ids (checked above); at < end.
            unchecked {
                ++queryId;
                at += _ENTRY_SIZE;
            }
        }
    }

    /// @notice Record that the bureau exported an enterprise's own data to it.
    /// @dev Requirements: caller has BUREAU_ROLE; the subject is registered; categories non-empty and
    /// registered. Emits a {PortabilityExported} event.
    function recordExport(bytes32 subject, uint256 categories, bytes32 exportHash) external onlyRole(BUREAU_ROLE) {
        if (!_isRegistered(subject)) revert MembershipUnknownEnterprise(subject);
        uint256 registered = registeredCategories();
        if (categories == 0 || categories & ~registered != 0) {
            revert RegistriesInvalidCategoryMask(categories, registered);
        }
        emit PortabilityExported(subject, categories, exportHash);
    }

    /// @notice The last query id recorded by `relayer` (0: none). The next must be above it.
    function lastQueryId(address relayer) external view returns (uint256) {
        return _lastQueryId[relayer];
    }

    /// @dev The relayer-integrity checks of a batch of `count` reads from `firstQueryId` on; stores
    /// the batch's last id as the relayer's last.
    function _checkQueryIds(address relayer, uint256 firstQueryId, uint256 count) private {
        if (firstQueryId >> 96 != uint256(uint160(relayer))) {
            revert AccessLedgerForeignQueryId(firstQueryId, relayer);
        }
        uint256 last = _lastQueryId[relayer];
        if (firstQueryId <= last) revert AccessLedgerStaleQueryId(firstQueryId, last);
        uint256 relayerLast = firstQueryId | _SEQUENCE_MASK;
        // count >= 1 and firstQueryId <= relayerLast. The first id past the relayer's range is the
        // culprit; relayerLast + 1 wraps only for the all-ones address, which no key controls.
        unchecked {
            if (count - 1 > relayerLast - firstQueryId) {
                revert AccessLedgerForeignQueryId(relayerLast + 1, relayer);
            }
            _lastQueryId[relayer] = firstQueryId + (count - 1);
        }
    }

    /// @dev The bank's side of the entry at calldata offset `at`: its `ReadRequest` deadline, and that its
    /// signature recovers to `signer` over exactly the entry's fields. NONE when the request stands.
    function _checkRequest(uint256 at, bytes32 consentId, uint256 access, address signer)
        private
        view
        returns (DenialReason)
    {
        uint256 request;
        bytes32 r;
        bytes32 vs;
        assembly ("memory-safe") {
            request := calldataload(add(at, 96))
            r := calldataload(add(at, 128))
            vs := calldataload(add(at, 160))
        }
        uint256 deadline = uint64(request >> 32);
        if (block.timestamp > deadline) return DenialReason.REQUEST_EXPIRED;
        // deadline >= block.timestamp here.
        unchecked {
            if (deadline - block.timestamp > MAX_READ_REQUEST_LIFETIME) {
                return DenialReason.REQUEST_LIFETIME_TOO_LONG;
            }
        }
        // keccak256(abi.encode(_READ_REQUEST_TYPEHASH, consentId, bank, categories, purpose, historyMonths,
        // requestId, deadline)), each field cut from its packed word to its declared width, encoded in
        // the scratch space above the free memory pointer so memory does not grow with the batch.
        bytes32 typehash = _READ_REQUEST_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let data := mload(0x40)
            mstore(data, typehash)
            mstore(add(data, 32), consentId)
            mstore(add(data, 64), shr(96, access))
            mstore(add(data, 96), and(shr(32, access), 0xffffffffffffffff))
            mstore(add(data, 128), and(shr(16, access), 0xffff))
            mstore(add(data, 160), and(shr(16, request), 0xffff))
            mstore(add(data, 192), and(shr(96, request), 0xffffffffffffffff))
            mstore(add(data, 224), deadline)
            structHash := keccak256(data, 256)
        }
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(_hashTypedDataV4(structHash), r, vs);
        if (error != ECDSA.RecoverError.NoError || recovered != signer) return DenialReason.SIGNATURE_INVALID;
        return DenialReason.NONE;
    }

    /// @dev The decision for one entry (`access` as in {AccessEntry}, its bank's standing given);
    /// counts the read when granted. The consent's storage word is read once and, for a granted
    /// read, written once, without copying the record to memory: the `_REC_*` shifts are the
    /// {ConsentRecord} fields' offsets in that word (Solidity packs a struct's members from the low
    /// bits up, in declaration order).
    function _judge(bytes32 consentId, uint256 access, uint24 bankId, bool bankActive)
        private
        returns (DenialReason)
    {
        ConsentRecord storage stored = _consents[consentId];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(stored.slot)
        }
        uint256 state = uint8(word >> _REC_STATE);
        if (state == _STATE_NONE) return DenialReason.NO_CONSENT;
        if (bankId != uint24(word)) return DenialReason.BANK_MISMATCH;
        if (!bankActive) return DenialReason.BANK_SUSPENDED;
        if (state == _STATE_REVOKED) return DenialReason.REVOKED;
        if (block.timestamp >= uint40(word >> _REC_EXPIRES_AT)) return DenialReason.EXPIRED;
        if (state == _STATE_PAUSED) return DenialReason.PAUSED;
        if (block.timestamp < uint40(word >> _REC_NOT_BEFORE)) return DenialReason.NOT_YET_VALID;
        if (uint16(access >> 16) != uint16(word >> _REC_PURPOSE)) return DenialReason.PURPOSE_MISMATCH;
        uint64 asked = uint64(access >> 32);
        if (asked == 0 || asked & ~uint64(word >> _REC_CATEGORIES) != 0) {
            return DenialReason.CATEGORY_NOT_CONSENTED;
        }
        if (uint32(word >> _REC_READS_USED) >= uint32(word >> _REC_MAX_READS)) {
            return DenialReason.READS_EXHAUSTED;
        }
        // readsUsed < maxReads <= type(uint32).max: adding one to the readsUsed field cannot carry
        // into the next field.
        unchecked {
            word += 1 << _REC_READS_USED;
        }
        assembly ("memory-safe") {
            sstore(stored.slot, word)
        }
        return DenialReason.NONE;
    }
}

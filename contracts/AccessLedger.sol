// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Consents} from "./Consents.sol";
import {IAccessLedger} from "./interfaces/IAccessLedger.sol";

/// @title AccessLedger: the chain judges and records every read the bureau is asked for.
/// @dev The bureau submits reads in batches. Each entry is judged against its consent as it stands at
/// that moment and becomes one event: {DataAccessed} (the bureau may release) or {AccessDenied} with a
/// reason. A denial never reverts the batch. Reads live in events; the only storage written per read is
/// the consent's read counter. Reasons are checked in this order: NO_CONSENT, BANK_MISMATCH,
/// BANK_SUSPENDED, REVOKED, EXPIRED, PAUSED, NOT_YET_VALID, PURPOSE_MISMATCH, CATEGORY_NOT_CONSENTED,
/// READS_EXHAUSTED.
abstract contract AccessLedger is IAccessLedger, Consents {
    mapping(address relayer => uint256) private _lastQueryId;

    /// @notice Judge and record a batch of reads.
    /// @dev Requirements: caller has BUREAU_ROLE; the batch is not empty; every query id carries the
    /// caller's address in its top 160 bits and is above the caller's last recorded query id (ids are
    /// strictly increasing within the batch too). A relayer-integrity failure reverts the whole batch;
    /// a denied read does not.
    /// Emits one {DataAccessed} or {AccessDenied} event per entry, in order.
    function recordAccesses(AccessEntry[] calldata entries) external onlyRole(BUREAU_ROLE) {
        uint256 count = entries.length;
        if (count == 0) revert AccessLedgerEmptyBatch();
        address relayer = _msgSender();
        uint256 last = _lastQueryId[relayer];
        for (uint256 i = 0; i < count; ++i) {
            AccessEntry calldata entry = entries[i];
            uint256 queryId = entry.queryId;
            if (queryId >> 96 != uint256(uint160(relayer))) revert AccessLedgerForeignQueryId(queryId, relayer);
            if (queryId <= last) revert AccessLedgerStaleQueryId(queryId, last);
            last = queryId;
            DenialReason reason = _judge(entry);
            if (reason == DenialReason.NONE) {
                emit DataAccessed(
                    entry.consentId, entry.bank, queryId, entry.categories, entry.purpose, entry.responseHash
                );
            } else {
                emit AccessDenied(entry.consentId, entry.bank, queryId, entry.categories, entry.purpose, reason);
            }
        }
        _lastQueryId[relayer] = last;
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

    /// @dev The decision for one entry; counts the read when granted.
    function _judge(AccessEntry calldata entry) private returns (DenialReason) {
        ConsentRecord storage stored = _consents[entry.consentId];
        ConsentRecord memory c = stored;
        if (c.state == _STATE_NONE) return DenialReason.NO_CONSENT;
        (uint24 bankId, bool bankActive) = _bankStanding(entry.bank);
        if (bankId != c.bankId) return DenialReason.BANK_MISMATCH;
        if (!bankActive) return DenialReason.BANK_SUSPENDED;
        if (c.state == _STATE_REVOKED) return DenialReason.REVOKED;
        if (block.timestamp >= c.expiresAt) return DenialReason.EXPIRED;
        if (c.state == _STATE_PAUSED) return DenialReason.PAUSED;
        if (block.timestamp < c.notBefore) return DenialReason.NOT_YET_VALID;
        if (entry.purpose != c.purpose) return DenialReason.PURPOSE_MISMATCH;
        uint256 asked = entry.categories;
        if (asked == 0 || asked & ~uint256(c.categories) != 0) return DenialReason.CATEGORY_NOT_CONSENTED;
        if (c.readsUsed >= c.maxReads) return DenialReason.READS_EXHAUSTED;
        // readsUsed < maxReads <= type(uint32).max, so the increment cannot overflow.
        unchecked {
            stored.readsUsed = c.readsUsed + 1;
        }
        return DenialReason.NONE;
    }
}

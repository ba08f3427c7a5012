// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The access ledger: every bank read, granted or denied, as an event.
/// @notice Types, errors and events of {AccessLedger}.
interface IAccessLedger {
    /// @dev One read the bureau asks the chain to judge and record.
    /// `queryId` is `uint160(relayer) << 96 | sequence`, strictly increasing per relayer, so it is
    /// recorded at most once in the ledger's life.
    struct AccessEntry {
        uint256 queryId;
        bytes32 consentId;
        address bank;
        uint256 categories;
        uint16 purpose;
        bytes32 responseHash; // hash of salt and canonical response; meaningful only when granted
    }

    /// @dev Why a read was denied. Codes are stable: the auditor and the gateway rely on them.
    enum DenialReason {
        NONE,
        NO_CONSENT,
        NOT_YET_VALID,
        EXPIRED,
        REVOKED,
        PAUSED,
        BANK_MISMATCH,
        CATEGORY_NOT_CONSENTED,
        PURPOSE_MISMATCH,
        READS_EXHAUSTED,
        BANK_SUSPENDED
    }

    /// @dev A batch must hold at least one entry.
    error AccessLedgerEmptyBatch();
    /// @dev The query id does not carry the submitting relayer's address in its top 160 bits.
    error AccessLedgerForeignQueryId(uint256 queryId, address relayer);
    /// @dev The query id is not above the relayer's last recorded one: it was recorded already or is out of order.
    error AccessLedgerStaleQueryId(uint256 queryId, uint256 lastQueryId);

    /// @dev The chain judged a read consented and recorded it: the bureau may release the data.
    event DataAccessed(
        bytes32 indexed consentId,
        address indexed bank,
        uint256 queryId,
        uint256 categories,
        uint16 purpose,
        bytes32 responseHash
    );
    /// @dev The chain judged a read not consented: nothing may be released.
    event AccessDenied(
        bytes32 indexed consentId,
        address indexed bank,
        uint256 queryId,
        uint256 categories,
        uint16 purpose,
        DenialReason reason
    );
    /// @dev The bureau exported an enterprise's own data to it (portability, PIPL art. 45).
    event PortabilityExported(bytes32 indexed subject, uint256 categories, bytes32 exportHash);
}

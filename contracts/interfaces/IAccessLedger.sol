// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The access ledger: every bank read, granted or denied, as an event.
/// @notice Types, errors and events of {AccessLedger}.
interface IAccessLedger {
    /// @dev One read the bureau asks the chain to judge and record, with the bank's signed request:
    /// six calldata words.
    /// `access` packs who reads what: `uint256(uint160(bank)) << 96 | categories << 32 | purpose << 16`
    /// (categories a uint64 mask, purpose a uint16; the low 16 bits are not read). The same layout,
    /// with the denial reason in the low 16 bits, is the `access` word of {DataAccessed} and
    /// {AccessDenied}. `request` packs the rest of the bank's EIP-712 `ReadRequest`:
    /// `requestId << 96 | deadline << 32 | historyMonths << 16` (requestId and deadline uint64,
    /// historyMonths a uint16; bits outside these fields are not read). `r` and `vs` are the bank's
    /// signature of that `ReadRequest` in ERC-2098 short form. The signed message is
    /// `ReadRequest(bytes32 consentId,address bank,uint256 categories,uint16 purpose,
    /// uint16 historyMonths,uint64 requestId,uint64 deadline)` in the ledger's EIP-712 domain, the
    /// same domain as an enterprise's `Consent`: the bank asks, under consent `consentId`, for
    /// `categories` for `purpose`, covering the last `historyMonths` months, before `deadline`;
    /// `requestId` is the bank's own reference for the request, unique per bank.
    /// The entry's query id is not in the entry: see {recordAccesses}.
    struct AccessEntry {
        bytes32 consentId;
        uint256 access;
        bytes32 responseHash; // hash of salt and canonical response; meaningful only when granted
        uint256 request;
        bytes32 r;
        bytes32 vs;
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
        BANK_SUSPENDED,
        REQUEST_EXPIRED, // the bank's ReadRequest deadline has passed
        REQUEST_LIFETIME_TOO_LONG, // its deadline lies more than MAX_READ_REQUEST_LIFETIME ahead
        SIGNATURE_INVALID // its signature does not recover to the bank's read signer
    }

    /// @dev A batch must hold at least one entry.
    error AccessLedgerEmptyBatch();
    /// @dev A query id of the batch does not carry the submitting relayer's address in its top 160 bits.
    error AccessLedgerForeignQueryId(uint256 queryId, address relayer);
    /// @dev The batch's first query id is not above the relayer's last recorded one: recorded already.
    error AccessLedgerStaleQueryId(uint256 queryId, uint256 lastQueryId);

    /// @dev The chain judged a read consented and recorded it: the bureau may release the data.
    /// `queryId` is `uint160(relayer) << 96 | sequence` (the relayer that recorded it); `access` is
    /// `uint256(uint160(bank)) << 96 | categories << 32 | purpose << 16` (reason 0: {DenialReason.NONE}).
    event DataAccessed(bytes32 indexed consentId, uint256 queryId, uint256 access, bytes32 responseHash);
    /// @dev The chain judged a read not consented: nothing may be released. `access` is laid out as
    /// in {DataAccessed}, with the {DenialReason} code in its low 16 bits.
    event AccessDenied(bytes32 indexed consentId, uint256 queryId, uint256 access);
    /// @dev The bureau exported an enterprise's own data to it (portability, PIPL art. 45).
    event PortabilityExported(bytes32 indexed subject, uint256 categories, bytes32 exportHash);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Consents signed by enterprises (EIP-712) and relayed by anyone.
/// @notice Types, errors and events of {Consents}.
interface IConsents {
    /// @dev The EIP-712 message an enterprise's controllers sign. Field order is the type string's.
    struct ConsentTerms {
        bytes32 subject;
        address bank;
        uint256 categories; // bit i set: category code i
        uint16 purpose;
        uint64 notBefore;
        uint64 expiresAt;
        uint32 maxReads; // 0: the purpose's cap
        uint16 historyMonths;
        bytes32 receiptHash; // hash of the human-readable consent receipt
        uint256 nonce; // NoncesKeyed: key << 64 | sequence, of the subject's nonce account
        uint256 deadline;
    }

    /// @dev Lifecycle of a consent as the chain sees it now. EXPIRED is derived from the time.
    enum Status {
        NONE,
        ACTIVE,
        PAUSED,
        REVOKED,
        EXPIRED
    }

    /// @dev A consent as stored, with its status now.
    struct ConsentView {
        Status status;
        bytes32 subject;
        address bank;
        uint64 categories;
        uint16 purpose;
        uint64 notBefore;
        uint64 expiresAt;
        uint32 maxReads;
        uint32 readsUsed;
        uint16 historyMonths;
    }

    /// @dev The bank does not hold the BANK role or is suspended.
    error ConsentsBankNotActive(address bank);
    /// @dev The purpose is not defined or was retired.
    error ConsentsUnknownPurpose(uint16 purpose);
    /// @dev No category asked, or a category that is not registered.
    error ConsentsInvalidCategories(uint256 categories, uint256 registered);
    /// @dev The purpose does not allow these categories.
    error ConsentsCategoriesNotAllowed(uint16 purpose, uint256 disallowed);
    /// @dev notBefore must be before expiresAt.
    error ConsentsInvalidWindow(uint64 notBefore, uint64 expiresAt);
    /// @dev The consent would already be expired.
    error ConsentsExpiryInPast(uint64 expiresAt, uint256 timestamp);
    /// @dev expiresAt - notBefore exceeds the purpose's duration cap.
    error ConsentsDurationExceedsCap(uint256 duration, uint32 maxDuration);
    /// @dev expiresAt lies further than the purpose's duration cap from now.
    error ConsentsExpiryTooFar(uint64 expiresAt, uint256 latest);
    /// @dev maxReads exceeds the purpose's read cap.
    error ConsentsReadsExceedCap(uint32 maxReads, uint32 cap);
    /// @dev historyMonths exceeds the purpose's history cap.
    error ConsentsHistoryExceedsCap(uint16 historyMonths, uint16 cap);
    /// @dev No consent with this id.
    error ConsentsUnknownConsent(bytes32 consentId);
    /// @dev The consent's status does not allow the action (e.g. resuming an active consent).
    error ConsentsInvalidTransition(bytes32 consentId, Status status);

    /// @dev A consent was granted. `maxReads` is the effective limit (the purpose cap when the message said 0).
    event ConsentGranted(
        bytes32 indexed consentId,
        bytes32 indexed subject,
        address indexed bank,
        uint64 categories,
        uint16 purpose,
        uint64 notBefore,
        uint64 expiresAt,
        uint32 maxReads,
        uint16 historyMonths,
        bytes32 receiptHash
    );
    /// @dev The enterprise paused a consent: reads recorded from now on are denied (PAUSED).
    event ConsentPaused(bytes32 indexed consentId, bytes32 indexed subject);
    /// @dev The enterprise resumed a paused consent.
    event ConsentResumed(bytes32 indexed consentId, bytes32 indexed subject);
    /// @dev The enterprise revoked a consent, for good: reads recorded from now on are denied (REVOKED).
    event ConsentRevoked(bytes32 indexed consentId, bytes32 indexed subject);
}

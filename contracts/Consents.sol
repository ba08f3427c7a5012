// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Registries} from "./Registries.sol";
import {IConsents} from "./interfaces/IConsents.sol";

/// @title Consents: granted, paused, resumed and revoked by the enterprise's signatures alone.
/// @dev Each action is EIP-712 typed data signed by k of the enterprise's controllers and relayed by
/// anyone, so an enterprise never needs ether. The consent id is the EIP-712 digest of the Consent
/// message. Lifecycle: ACTIVE <-> PAUSED, either -> REVOKED; EXPIRED once block.timestamp >= expiresAt.
/// A pause or revocation applies to every read recorded after it, in the same block too.
abstract contract Consents is IConsents, Registries {
    bytes32 private constant _CONSENT_TYPEHASH = keccak256(
        "Consent(bytes32 subject,address bank,uint256 categories,uint16 purpose,uint64 notBefore,"
        "uint64 expiresAt,uint32 maxReads,uint16 historyMonths,bytes32 receiptHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOCATION_TYPEHASH =
        keccak256("Revocation(bytes32 consentId,uint256 nonce,uint256 deadline)");
    bytes32 private constant _PAUSE_TYPEHASH = keccak256("Pause(bytes32 consentId,uint256 nonce,uint256 deadline)");
    bytes32 private constant _RESUME_TYPEHASH = keccak256("Resume(bytes32 consentId,uint256 nonce,uint256 deadline)");

    uint8 internal constant _STATE_NONE = 0;
    uint8 internal constant _STATE_ACTIVE = 1;
    uint8 internal constant _STATE_PAUSED = 2;
    uint8 internal constant _STATE_REVOKED = 3;

    /// @dev Everything a read check needs, in one storage word (24+40+40+32+32+16+8+64 = 256 bits).
    /// {AccessLedger} reads and writes this word whole, by its fields' bit offsets (`_REC_*`): change
    /// the struct and those offsets together.
    struct ConsentRecord {
        uint24 bankId;
        uint40 notBefore;
        uint40 expiresAt;
        uint32 maxReads;
        uint32 readsUsed;
        uint16 purpose;
        uint8 state;
        uint64 categories;
    }

    /// @dev What reads never need.
    struct ConsentOwner {
        bytes32 subject;
        uint16 historyMonths;
    }

    mapping(bytes32 consentId => ConsentRecord) internal _consents;
    mapping(bytes32 consentId => ConsentOwner) private _owners;

    /// @notice Grant a consent signed by the enterprise's controllers; returns its id (the EIP-712 digest).
    /// @dev Requirements, checked in this order: deadline not passed; subject registered; nonce unused;
    /// at least k signatures, each from a distinct controller (high-s signatures refused); bank active;
    /// purpose active; categories non-empty and registered; categories allowed for the purpose;
    /// notBefore < expiresAt; expiresAt in the future; expiresAt - notBefore and expiresAt - now within
    /// the purpose's duration cap; maxReads and historyMonths within the purpose's caps.
    /// Emits a {ConsentGranted} event.
    function grantConsent(ConsentTerms calldata terms, bytes[] calldata signatures)
        external
        returns (bytes32 consentId)
    {
        consentId = _authorize(
            terms.subject, terms.nonce, terms.deadline, keccak256(abi.encode(_CONSENT_TYPEHASH, terms)), signatures
        );
        (uint24 bankId, bool bankActive) = _bankStanding(terms.bank);
        if (!bankActive) revert ConsentsBankNotActive(terms.bank);
        Purpose memory caps = purpose(terms.purpose);
        if (!caps.active) revert ConsentsUnknownPurpose(terms.purpose);
        uint256 registered = registeredCategories();
        if (terms.categories == 0 || terms.categories & ~registered != 0) {
            revert ConsentsInvalidCategories(terms.categories, registered);
        }
        uint256 disallowed = terms.categories & ~uint256(caps.allowedCategories);
        if (disallowed != 0) revert ConsentsCategoriesNotAllowed(terms.purpose, disallowed);
        _checkWindow(terms.notBefore, terms.expiresAt, caps.maxDuration);
        if (terms.maxReads > caps.maxReads) revert ConsentsReadsExceedCap(terms.maxReads, caps.maxReads);
        if (terms.historyMonths > caps.maxHistoryMonths) {
            revert ConsentsHistoryExceedsCap(terms.historyMonths, caps.maxHistoryMonths);
        }
        uint32 readLimit = terms.maxReads == 0 ? caps.maxReads : terms.maxReads;
        // The window checks bound both times by block.timestamp + 1826 days, far inside uint40.
        _consents[consentId] = ConsentRecord({
            bankId: bankId,
            notBefore: uint40(terms.notBefore),
            expiresAt: uint40(terms.expiresAt),
            maxReads: readLimit,
            readsUsed: 0,
            purpose: terms.purpose,
            state: _STATE_ACTIVE,
            categories: uint64(terms.categories)
        });
        _owners[consentId] = ConsentOwner(terms.subject, terms.historyMonths);
        _emitGranted(consentId, terms, readLimit);
    }

    /// @notice Pause an active consent, signed by the enterprise's controllers (EIP-712 `Pause`).
    /// @dev Requirements: the consent exists; deadline, nonce and signatures as for {grantConsent};
    /// status ACTIVE. Emits a {ConsentPaused} event.
    function pauseConsent(bytes32 consentId, uint256 nonce, uint256 deadline, bytes[] calldata signatures) external {
        bytes32 subject = _authorizeOnConsent(_PAUSE_TYPEHASH, consentId, nonce, deadline, signatures);
        _requireStatus(consentId, Status.ACTIVE, Status.ACTIVE);
        _consents[consentId].state = _STATE_PAUSED;
        emit ConsentPaused(consentId, subject);
    }

    /// @notice Resume a paused consent, signed by the enterprise's controllers (EIP-712 `Resume`).
    /// @dev Requirements: the consent exists; deadline, nonce and signatures as for {grantConsent};
    /// status PAUSED. Emits a {ConsentResumed} event.
    function resumeConsent(bytes32 consentId, uint256 nonce, uint256 deadline, bytes[] calldata signatures) external {
        bytes32 subject = _authorizeOnConsent(_RESUME_TYPEHASH, consentId, nonce, deadline, signatures);
        _requireStatus(consentId, Status.PAUSED, Status.PAUSED);
        _consents[consentId].state = _STATE_ACTIVE;
        emit ConsentResumed(consentId, subject);
    }

    /// @notice Revoke a consent for good, signed by the enterprise's controllers (EIP-712 `Revocation`).
    /// @dev Requirements: the consent exists; deadline, nonce and signatures as for {grantConsent};
    /// status ACTIVE or PAUSED. Emits a {ConsentRevoked} event.
    function revokeConsent(bytes32 consentId, uint256 nonce, uint256 deadline, bytes[] calldata signatures) external {
        bytes32 subject = _authorizeOnConsent(_REVOCATION_TYPEHASH, consentId, nonce, deadline, signatures);
        _requireStatus(consentId, Status.ACTIVE, Status.PAUSED);
        _consents[consentId].state = _STATE_REVOKED;
        emit ConsentRevoked(consentId, subject);
    }

    /// @notice A consent as stored, with its status now (status NONE: no such consent).
    function consent(bytes32 consentId) external view returns (ConsentView memory) {
        ConsentRecord memory c = _consents[consentId];
        ConsentOwner memory owner = _owners[consentId];
        return ConsentView({
            status: _status(c),
            subject: owner.subject,
            bank: _bankAddress(c.bankId),
            categories: c.categories,
            purpose: c.purpose,
            notBefore: c.notBefore,
            expiresAt: c.expiresAt,
            maxReads: c.maxReads,
            readsUsed: c.readsUsed,
            historyMonths: owner.historyMonths
        });
    }

    /// @dev The status of a stored consent now.
    function _status(ConsentRecord memory c) internal view returns (Status) {
        if (c.state == _STATE_NONE) return Status.NONE;
        if (c.state == _STATE_REVOKED) return Status.REVOKED;
        if (block.timestamp >= c.expiresAt) return Status.EXPIRED;
        if (c.state == _STATE_PAUSED) return Status.PAUSED;
        return Status.ACTIVE;
    }

    function _checkWindow(uint64 notBefore, uint64 expiresAt, uint32 maxDuration) private view {
        if (notBefore >= expiresAt) revert ConsentsInvalidWindow(notBefore, expiresAt);
        if (expiresAt <= block.timestamp) revert ConsentsExpiryInPast(expiresAt, block.timestamp);
        uint256 duration = expiresAt - notBefore;
        if (duration > maxDuration) revert ConsentsDurationExceedsCap(duration, maxDuration);
        uint256 latest = block.timestamp + maxDuration;
        if (expiresAt > latest) revert ConsentsExpiryTooFar(expiresAt, latest);
    }

    function _authorizeOnConsent(
        bytes32 typehash,
        bytes32 consentId,
        uint256 nonce,
        uint256 deadline,
        bytes[] calldata signatures
    ) private returns (bytes32 subject) {
        if (_consents[consentId].state == _STATE_NONE) revert ConsentsUnknownConsent(consentId);
        subject = _owners[consentId].subject;
        _authorize(subject, nonce, deadline, keccak256(abi.encode(typehash, consentId, nonce, deadline)), signatures);
    }

    function _requireStatus(bytes32 consentId, Status allowed, Status alsoAllowed) private view {
        Status status = _status(_consents[consentId]);
        if (status != allowed && status != alsoAllowed) revert ConsentsInvalidTransition(consentId, status);
    }

    function _emitGranted(bytes32 consentId, ConsentTerms calldata terms, uint32 readLimit) private {
        emit ConsentGranted(
            consentId,
            terms.subject,
            terms.bank,
            uint64(terms.categories),
            terms.purpose,
            terms.notBefore,
            terms.expiresAt,
            readLimit,
            terms.historyMonths,
            terms.receiptHash
        );
    }
}

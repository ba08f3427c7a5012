// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessLedger} from "./AccessLedger.sol";
import {IDisputes} from "./interfaces/IDisputes.sol";

/// @title Disputes: an enterprise's objection to a record on the chain, and the bureau's answer.
/// @dev 征信业管理条例 art. 25: the enterprise may dispute a record; the bureau marks it and answers in
/// writing within 20 days. The bureau's relayer records both (the enterprise signs in to the gateway
/// to file); the texts stay with the bureau and the chain holds their hashes, the filing's block time
/// and the answer's, so anyone can tell an answer that came late or never. A dispute keeps its
/// subject (the answer's event names it; a registered subject is never zero) and whether it was
/// answered.
abstract contract Disputes is IDisputes, AccessLedger {
    /// @notice The time the bureau has to answer a dispute.
    uint256 public constant DISPUTE_ANSWER_PERIOD = 20 days;

    mapping(bytes32 disputeId => bytes32 subject) private _disputeSubjects;
    mapping(bytes32 disputeId => bool) private _disputeAnswered;

    /// @notice Record an enterprise's dispute of a read (`kind` 1, `target` its query id) or of a data
    /// item (`kind` 2, `target` the hash of the item's reference) in `categories`.
    /// @dev Requirements: caller has BUREAU_ROLE; `disputeId` is unused; the subject is registered;
    /// `kind` is 1 or 2; `categories` non-empty and registered.
    /// Emits a {DisputeFiled} event.
    function fileDispute(
        bytes32 disputeId,
        bytes32 subject,
        uint8 kind,
        bytes32 target,
        uint256 categories,
        bytes32 reasonHash
    ) external onlyRole(BUREAU_ROLE) {
        if (_disputeSubjects[disputeId] != 0) revert DisputesAlreadyFiled(disputeId);
        if (!_isRegistered(subject)) revert MembershipUnknownEnterprise(subject);
        if (kind == 0 || kind > 2) revert DisputesInvalidKind(kind);
        uint256 registered = registeredCategories();
        if (categories == 0 || categories & ~registered != 0) {
            revert RegistriesInvalidCategoryMask(categories, registered);
        }
        _disputeSubjects[disputeId] = subject;
        emit DisputeFiled(disputeId, subject, kind, target, categories, reasonHash);
    }

    /// @notice Record the bureau's written answer to a dispute: corrected (1) or upheld (2).
    /// @dev Requirements: caller has BUREAU_ROLE; the dispute was filed and not answered; `outcome` is
    /// 1 or 2. Emits a {DisputeAnswered} event with the subject the filing named.
    function answerDispute(bytes32 disputeId, uint8 outcome, bytes32 answerHash) external onlyRole(BUREAU_ROLE) {
        bytes32 subject = _disputeSubjects[disputeId];
        if (subject == 0) revert DisputesUnknownDispute(disputeId);
        if (_disputeAnswered[disputeId]) revert DisputesAlreadyAnswered(disputeId);
        if (outcome == 0 || outcome > 2) revert DisputesInvalidOutcome(outcome);
        _disputeAnswered[disputeId] = true;
        emit DisputeAnswered(disputeId, subject, outcome, answerHash);
    }
}

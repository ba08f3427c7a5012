// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Disputes: an enterprise's objection to a record, and the bureau's written answer.
/// @notice Errors and events of {Disputes}. Kinds: 1 a recorded read (target: its query id), 2 a data
/// item in a category (target: the hash of the item's reference). Outcomes: 1 corrected, 2 upheld.
interface IDisputes {
    /// @dev The dispute id is in use already.
    error DisputesAlreadyFiled(bytes32 disputeId);
    /// @dev No dispute was filed with this id.
    error DisputesUnknownDispute(bytes32 disputeId);
    /// @dev The dispute was answered already: an answer is final.
    error DisputesAlreadyAnswered(bytes32 disputeId);
    /// @dev The kind is neither 1 (a read) nor 2 (a data item).
    error DisputesInvalidKind(uint8 kind);
    /// @dev The outcome is neither 1 (corrected) nor 2 (upheld).
    error DisputesInvalidOutcome(uint8 outcome);

    /// @notice An enterprise disputed a record; `reasonHash` commits to its written reason.
    event DisputeFiled(
        bytes32 indexed disputeId,
        bytes32 indexed subject,
        uint8 kind,
        bytes32 target,
        uint256 categories,
        bytes32 reasonHash
    );

    /// @notice The bureau answered a dispute; `answerHash` commits to its written answer.
    event DisputeAnswered(bytes32 indexed disputeId, bytes32 indexed subject, uint8 outcome, bytes32 answerHash);
}

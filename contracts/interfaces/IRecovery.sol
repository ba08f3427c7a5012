// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The regulator's lost-key recovery of an enterprise, which its current controllers can cancel.
/// @notice Types, errors and events of {Recovery}.
interface IRecovery {
    /// @dev A pending recovery: the new set's hash and the time from which it may be completed.
    struct PendingRecovery {
        bytes32 setHash; // keccak256(abi.encode(controllers, threshold))
        uint64 effectiveAt; // 0: none pending
    }

    /// @dev No recovery is pending for the subject.
    error RecoveryNotPending(bytes32 subject);
    /// @dev The recovery's delay has not passed yet.
    error RecoveryNotYetEffective(bytes32 subject, uint64 effectiveAt);
    /// @dev The controller set given is not the one the recovery was started with.
    error RecoveryOtherControllers(bytes32 subject);

    /// @dev The regulator started replacing the subject's controllers; it can be completed from `effectiveAt`.
    event RecoveryStarted(bytes32 indexed subject, address[] controllers, uint8 threshold, uint64 effectiveAt);
    /// @dev k of the subject's controllers cancelled the pending recovery.
    event RecoveryCancelled(bytes32 indexed subject);
    /// @dev The recovery took effect (a {ControllersChanged} event with the new set follows).
    event RecoveryCompleted(bytes32 indexed subject);
}

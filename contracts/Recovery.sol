// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessLedger} from "./AccessLedger.sol";
import {IRecovery} from "./interfaces/IRecovery.sol";

/// @title Recovery: an enterprise that lost its controllers' keys gets new ones, in the open and after a delay.
/// @dev The regulator starts a recovery with the new controller set, each new controller's signature
/// proving its key (EIP-712 `Recovery(bytes32 subject,address[] controllers,uint8 threshold,uint256 deadline)`).
/// Nothing changes for {RECOVERY_DELAY}: k of the current controllers can cancel it meanwhile (EIP-712
/// `CancelRecovery(bytes32 subject,uint256 nonce,uint256 deadline)`), so a regulator's key alone never takes
/// over an enterprise whose controllers are still there. Once the delay has passed anyone may complete it
/// (until then, and until it is completed, the current controllers keep acting and may cancel it).
abstract contract Recovery is IRecovery, AccessLedger {
    /// @notice How long a started recovery waits before it can be completed.
    uint256 public constant RECOVERY_DELAY = 7 days;

    bytes32 private constant _RECOVERY_TYPEHASH =
        keccak256("Recovery(bytes32 subject,address[] controllers,uint8 threshold,uint256 deadline)");
    bytes32 private constant _CANCEL_RECOVERY_TYPEHASH =
        keccak256("CancelRecovery(bytes32 subject,uint256 nonce,uint256 deadline)");

    /// @notice The recovery pending for a subject: the hash of `abi.encode(controllers, threshold)` and
    /// when it may be completed (0: none pending).
    mapping(bytes32 subject => PendingRecovery) public recoveries;

    /// @notice Start replacing an enterprise's controllers: effective {RECOVERY_DELAY} from now.
    /// @dev Requirements, in this order: caller has REGULATOR_ROLE; the subject is registered; deadline
    /// not passed; the new set valid as for {registerEnterprise}; one signature per new controller,
    /// each recovering to it. Replaces a recovery already pending (the delay starts again).
    /// Emits a {RecoveryStarted} event.
    function startRecovery(
        bytes32 subject,
        address[] calldata controllers,
        uint8 threshold,
        uint256 deadline,
        bytes[] calldata signatures
    ) external onlyRole(REGULATOR_ROLE) {
        if (!_isRegistered(subject)) revert MembershipUnknownEnterprise(subject);
        _requireProofs(_RECOVERY_TYPEHASH, subject, controllers, threshold, deadline, signatures);
        uint64 effectiveAt = uint64(block.timestamp + RECOVERY_DELAY);
        recoveries[subject] = PendingRecovery(keccak256(abi.encode(controllers, threshold)), effectiveAt);
        emit RecoveryStarted(subject, controllers, threshold, effectiveAt);
    }

    /// @notice Cancel a pending recovery, signed by k of the enterprise's current controllers.
    /// @dev Anyone may submit it. Requirements: deadline, registration, nonce and signatures as for
    /// {Consents.grantConsent}; a recovery is pending. Emits a {RecoveryCancelled} event.
    function cancelRecovery(bytes32 subject, uint256 nonce, uint256 deadline, bytes[] calldata signatures) external {
        _authorize(
            subject, nonce, deadline, keccak256(abi.encode(_CANCEL_RECOVERY_TYPEHASH, subject, nonce, deadline)), signatures
        );
        if (recoveries[subject].effectiveAt == 0) revert RecoveryNotPending(subject);
        delete recoveries[subject];
        emit RecoveryCancelled(subject);
    }

    /// @notice Complete a recovery whose delay has passed: the new controllers replace the old.
    /// @dev Anyone may submit it, with the controller set the recovery was started with.
    /// Requirements: a recovery is pending; its delay has passed; the set is the one started.
    /// Emits {RecoveryCompleted} and then {ControllersChanged}.
    function completeRecovery(bytes32 subject, address[] calldata controllers, uint8 threshold) external {
        PendingRecovery memory pending = recoveries[subject];
        if (pending.effectiveAt == 0) revert RecoveryNotPending(subject);
        if (block.timestamp < pending.effectiveAt) revert RecoveryNotYetEffective(subject, pending.effectiveAt);
        if (keccak256(abi.encode(controllers, threshold)) != pending.setHash) revert RecoveryOtherControllers(subject);
        delete recoveries[subject];
        _setControllers(subject, controllers, threshold);
        emit RecoveryCompleted(subject);
        emit ControllersChanged(subject, controllers, threshold);
    }
}

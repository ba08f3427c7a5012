// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Membership of the consortium: banks, the bureau, auditors, and the enterprises it registers.
/// @notice Errors and events of {Membership}. Roles themselves are OpenZeppelin's AccessControl.
interface IMembership {
    /// @dev `account` does not hold the BANK role.
    error MembershipNotABank(address account);
    /// @dev The bank is already suspended.
    error MembershipBankAlreadySuspended(address bank);
    /// @dev The bank is not suspended, so it cannot be reinstated.
    error MembershipBankNotSuspended(address bank);
    /// @dev A subject id of zero is never valid.
    error MembershipZeroSubject();
    /// @dev The subject is already registered.
    error MembershipEnterpriseAlreadyRegistered(bytes32 subject);
    /// @dev The subject was never registered.
    error MembershipUnknownEnterprise(bytes32 subject);
    /// @dev The controller set is empty, too large, or the threshold is not within 1..count.
    error MembershipInvalidControllerSet(uint256 count, uint8 threshold);
    /// @dev A controller may not be the zero address.
    error MembershipZeroController();
    /// @dev The same controller is listed twice.
    error MembershipDuplicateController(address controller);
    /// @dev The signed action's deadline has passed.
    error MembershipSignatureExpired(uint256 deadline, uint256 timestamp);
    /// @dev Fewer signatures than the enterprise's threshold.
    error MembershipThresholdNotMet(uint256 signatures, uint8 threshold);
    /// @dev A signature recovered to an address that is not one of the enterprise's controllers.
    error MembershipSignerNotController(bytes32 subject, address signer);
    /// @dev Two signatures recovered to the same controller.
    error MembershipDuplicateSigner(address signer);

    /// @dev The regulator suspended `bank`: its reads are denied and it can receive no new consent.
    event BankSuspended(address indexed bank, address indexed regulator);
    /// @dev `bank` chose the key that signs its read requests (`signer` zero: the bank's own address).
    event BankReadSignerChanged(address indexed bank, address signer);
    /// @dev The regulator reinstated a suspended `bank`.
    event BankReinstated(address indexed bank, address indexed regulator);
    /// @dev The bureau registered an enterprise under its subject id with its controllers.
    event EnterpriseRegistered(bytes32 indexed subject, address[] controllers, uint8 threshold);
    /// @dev The enterprise's controllers replaced the controller set by a threshold-signed action.
    event ControllersChanged(bytes32 indexed subject, address[] controllers, uint8 threshold);
}

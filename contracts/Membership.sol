// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {NoncesKeyed} from "@openzeppelin/contracts/utils/NoncesKeyed.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IMembership} from "./interfaces/IMembership.sol";

/// @title Membership: roles, bank suspension, enterprises and their controllers.
/// @dev The regulator administers every role. Enterprises are not accounts: the bureau registers
/// each under a subject id (a keyed hash of its USCC, never the plain code) with the addresses
/// that may sign for it and a signing threshold k. Signed actions of an enterprise use one nonce
/// account per subject (OpenZeppelin NoncesKeyed, owner = the subject's low 160 bits), so drafts
/// under different keys never invalidate each other and each nonce is used once.
abstract contract Membership is IMembership, AccessControl, EIP712, NoncesKeyed {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    bytes32 public constant BUREAU_ROLE = keccak256("BUREAU_ROLE");
    bytes32 public constant BANK_ROLE = keccak256("BANK_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    /// @dev Most controllers an enterprise may have (bounds the signature loop).
    uint256 public constant MAX_CONTROLLERS = 16;

    bytes32 private constant _CHANGE_CONTROLLERS_TYPEHASH =
        keccak256("ChangeControllers(bytes32 subject,address[] controllers,uint8 threshold,uint256 nonce,uint256 deadline)");

    struct Enterprise {
        uint8 threshold; // 0: not registered
        EnumerableSet.AddressSet controllers;
    }

    /// @dev A bank's compact id lets a consent fit one storage word; `member` mirrors BANK_ROLE so
    /// that a read learns the bank's standing from this one word (kept in step by {_grantRole} and
    /// {_revokeRole}).
    struct BankRecord {
        uint24 id; // 0: never a bank
        bool suspended;
        bool member; // holds BANK_ROLE now
        address readSigner; // signs the bank's read requests; zero: the bank's own address
    }

    mapping(bytes32 subject => Enterprise) private _enterprises;
    mapping(address bank => BankRecord) private _banks;
    mapping(uint24 id => address bank) private _bankById;
    uint24 private _bankCount;

    constructor(address regulator) {
        _setRoleAdmin(REGULATOR_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(BUREAU_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(BANK_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(AUDITOR_ROLE, REGULATOR_ROLE);
        _grantRole(REGULATOR_ROLE, regulator);
    }

    /// @notice Suspend a bank: its reads are denied (BANK_SUSPENDED) and it receives no new consent.
    /// @dev Requirements: caller has REGULATOR_ROLE; `bank` has BANK_ROLE and is not suspended.
    /// Emits a {BankSuspended} event.
    function suspendBank(address bank) external onlyRole(REGULATOR_ROLE) {
        BankRecord storage record = _banks[bank];
        if (!record.member) revert MembershipNotABank(bank);
        if (record.suspended) revert MembershipBankAlreadySuspended(bank);
        record.suspended = true;
        emit BankSuspended(bank, _msgSender());
    }

    /// @notice Reinstate a suspended bank.
    /// @dev Requirements: caller has REGULATOR_ROLE; `bank` is suspended.
    /// Emits a {BankReinstated} event.
    function reinstateBank(address bank) external onlyRole(REGULATOR_ROLE) {
        BankRecord storage record = _banks[bank];
        if (!record.suspended) revert MembershipBankNotSuspended(bank);
        record.suspended = false;
        emit BankReinstated(bank, _msgSender());
    }

    /// @notice Choose the key that signs this bank's read requests, or rotate it (zero: the bank's
    /// own address signs). Takes effect for every read recorded after it: a request signed by the
    /// previous key and recorded later is denied (SIGNATURE_INVALID).
    /// @dev Requirements: caller has BANK_ROLE. Emits a {BankReadSignerChanged} event.
    function setReadSigner(address signer) external onlyRole(BANK_ROLE) {
        address bank = _msgSender();
        _banks[bank].readSigner = signer;
        emit BankReadSignerChanged(bank, signer);
    }

    /// @notice The address whose signature the ledger accepts on `bank`'s read requests.
    function readSigner(address bank) external view returns (address) {
        (, , address signer) = _bankReadStanding(bank);
        return signer;
    }

    /// @notice Register an enterprise under its subject id with its controllers and threshold.
    /// @dev Requirements: caller has BUREAU_ROLE; `subject` is non-zero and not registered;
    /// 1 <= controllers <= MAX_CONTROLLERS, no zero or repeated address, 1 <= threshold <= controllers.
    /// Emits an {EnterpriseRegistered} event.
    function registerEnterprise(bytes32 subject, address[] calldata controllers, uint8 threshold)
        external
        onlyRole(BUREAU_ROLE)
    {
        if (subject == bytes32(0)) revert MembershipZeroSubject();
        Enterprise storage record = _enterprises[subject];
        if (record.threshold != 0) revert MembershipEnterpriseAlreadyRegistered(subject);
        _setControllers(record, controllers, threshold);
        emit EnterpriseRegistered(subject, controllers, threshold);
    }

    /// @notice Replace an enterprise's controllers and threshold, signed by k of its current controllers.
    /// @dev The signed message is EIP-712 `ChangeControllers(bytes32 subject,address[] controllers,
    /// uint8 threshold,uint256 nonce,uint256 deadline)`. Anyone may submit it.
    /// Requirements: deadline not passed; subject registered; nonce unused; k distinct current
    /// controllers signed; the new set is valid as for {registerEnterprise}.
    /// Emits a {ControllersChanged} event.
    function changeControllers(
        bytes32 subject,
        address[] calldata controllers,
        uint8 threshold,
        uint256 nonce,
        uint256 deadline,
        bytes[] calldata signatures
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                _CHANGE_CONTROLLERS_TYPEHASH,
                subject,
                keccak256(abi.encodePacked(controllers)),
                threshold,
                nonce,
                deadline
            )
        );
        _authorize(subject, nonce, deadline, structHash, signatures);
        _setControllers(_enterprises[subject], controllers, threshold);
        emit ControllersChanged(subject, controllers, threshold);
    }

    /// @notice The enterprise's controllers and signing threshold (threshold 0: not registered).
    function enterprise(bytes32 subject) external view returns (address[] memory controllers, uint8 threshold) {
        Enterprise storage e = _enterprises[subject];
        return (e.controllers.values(), e.threshold);
    }

    /// @notice The nonce account of a subject: pass it to `nonces(account, key)` to draft a signed action.
    function subjectNonceAccount(bytes32 subject) public pure returns (address) {
        return address(uint160(uint256(subject)));
    }

    /// @notice Whether `bank` holds BANK_ROLE and is not suspended.
    function isBankActive(address bank) public view returns (bool) {
        (, bool active) = _bankStanding(bank);
        return active;
    }

    /// @notice Whether `bank` is suspended.
    function isBankSuspended(address bank) external view returns (bool) {
        return _banks[bank].suspended;
    }

    /// @dev Checks a signed action of `subject`: deadline, registration, nonce, k distinct controller
    /// signatures over the EIP-712 digest of `structHash`. Consumes the nonce; returns the digest.
    function _authorize(
        bytes32 subject,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes[] calldata signatures
    ) internal returns (bytes32 digest) {
        if (block.timestamp > deadline) revert MembershipSignatureExpired(deadline, block.timestamp);
        Enterprise storage e = _enterprises[subject];
        uint8 threshold = e.threshold;
        if (threshold == 0) revert MembershipUnknownEnterprise(subject);
        _useCheckedNonce(subjectNonceAccount(subject), nonce);
        if (signatures.length < threshold) revert MembershipThresholdNotMet(signatures.length, threshold);
        digest = _hashTypedDataV4(structHash);
        address[] memory signers = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (!e.controllers.contains(signer)) revert MembershipSignerNotController(subject, signer);
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signer) revert MembershipDuplicateSigner(signer);
            }
            signers[i] = signer;
        }
    }

    /// @dev The compact id of `bank` (0 if it never held BANK_ROLE) and whether it may read now
    /// (holds BANK_ROLE and is not suspended): one storage read.
    function _bankStanding(address bank) internal view returns (uint24 id, bool active) {
        BankRecord memory record = _banks[bank];
        return (record.id, record.member && !record.suspended);
    }

    /// @dev {_bankStanding} and the address that signs the bank's read requests (the bank itself
    /// unless it registered a key): the same one storage read.
    function _bankReadStanding(address bank) internal view returns (uint24 id, bool active, address signer) {
        BankRecord memory record = _banks[bank];
        signer = record.readSigner == address(0) ? bank : record.readSigner;
        return (record.id, record.member && !record.suspended, signer);
    }

    /// @dev Whether the subject is registered.
    function _isRegistered(bytes32 subject) internal view returns (bool) {
        return _enterprises[subject].threshold != 0;
    }

    /// @dev Gives a bank its compact id the first time it is granted BANK_ROLE, and marks it a member.
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == BANK_ROLE) {
            BankRecord storage record = _banks[account];
            if (record.id == 0) {
                uint24 id = ++_bankCount;
                record.id = id;
                _bankById[id] = account;
            }
            record.member = true;
        }
    }

    /// @dev A bank that loses BANK_ROLE is no longer a member (it keeps its id and suspension flag).
    function _revokeRole(bytes32 role, address account) internal virtual override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == BANK_ROLE) _banks[account].member = false;
    }

    /// @dev The bank holding compact id `id` (zero address if none).
    function _bankAddress(uint24 id) internal view returns (address) {
        return _bankById[id];
    }

    function _setControllers(Enterprise storage e, address[] calldata controllers, uint8 threshold) private {
        uint256 count = controllers.length;
        if (count == 0 || count > MAX_CONTROLLERS || threshold == 0 || threshold > count) {
            revert MembershipInvalidControllerSet(count, threshold);
        }
        e.controllers.clear();
        for (uint256 i = 0; i < count; ++i) {
            address controller = controllers[i];
            if (controller == address(0)) revert MembershipZeroController();
            if (!e.controllers.add(controller)) revert MembershipDuplicateController(controller);
        }
        e.threshold = threshold;
    }
}

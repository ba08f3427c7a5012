// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";
import {IRegistries} from "./interfaces/IRegistries.sol";

/// @title Registries: the data categories and the purposes a consent may name, governed by the regulator.
/// @dev Categories are codes 1..63 kept as one bitmask; names live in the events. A purpose carries
/// caps in the spirit of India's Account Aggregator fair-use rules. Changing or retiring a purpose
/// affects new consents only: a granted consent keeps the terms it was granted with.
abstract contract Registries is IRegistries, Membership {
    /// @dev No purpose may allow consents longer than this: five years (with one leap day), the
    /// longest a post-loan authorisation runs before the credit it follows must be re-authorised.
    uint32 public constant MAX_CONSENT_DURATION = 1826 days;
    uint8 private constant _MAX_CATEGORY_CODE = 63;

    uint64 private _registeredCategories;
    mapping(uint16 code => Purpose) private _purposes;

    /// @notice Register data category `code` (1..63) under `name`.
    /// @dev Requirements: caller has the regulator role; code within 1..63 and not registered; name non-empty.
    /// Emits a {CategoryRegistered} event.
    function registerCategory(uint8 code, string calldata name) external onlyRole(REGULATOR_ROLE) {
        if (code == 0 || code > _MAX_CATEGORY_CODE) revert RegistriesInvalidCategoryCode(code);
        uint64 bit = uint64(1) << code;
        if (_registeredCategories & bit != 0) revert RegistriesCategoryAlreadyRegistered(code);
        if (bytes(name).length == 0) revert RegistriesEmptyName();
        _registeredCategories |= bit;
        emit CategoryRegistered(code, name);
    }

    /// @notice Define purpose `code` or change its caps.
    /// @dev Requirements: caller has the regulator role; code non-zero; name non-empty;
    /// 0 < maxDuration <= 365 days; maxReads > 0; allowedCategories non-empty and registered.
    /// Emits a {PurposeDefined} event.
    function definePurpose(
        uint16 code,
        string calldata name,
        uint64 allowedCategories,
        uint32 maxDuration,
        uint32 maxReads,
        uint16 maxHistoryMonths
    ) external onlyRole(REGULATOR_ROLE) {
        if (code == 0) revert RegistriesInvalidPurposeCode();
        if (bytes(name).length == 0) revert RegistriesEmptyName();
        if (maxDuration == 0 || maxDuration > MAX_CONSENT_DURATION) {
            revert RegistriesDurationCapOutOfRange(maxDuration, MAX_CONSENT_DURATION);
        }
        if (maxReads == 0) revert RegistriesZeroReadCap();
        uint64 registered = _registeredCategories;
        if (allowedCategories == 0 || allowedCategories & ~registered != 0) {
            revert RegistriesInvalidCategoryMask(allowedCategories, registered);
        }
        _purposes[code] = Purpose(true, allowedCategories, maxDuration, maxReads, maxHistoryMonths);
        emit PurposeDefined(code, name, allowedCategories, maxDuration, maxReads, maxHistoryMonths);
    }

    /// @notice Retire purpose `code`: no new consent can name it.
    /// @dev Requirements: caller has the regulator role; the purpose is active.
    /// Emits a {PurposeRetired} event.
    function retirePurpose(uint16 code) external onlyRole(REGULATOR_ROLE) {
        Purpose storage caps = _purposes[code];
        if (!caps.active) revert RegistriesUnknownPurpose(code);
        caps.active = false;
        emit PurposeRetired(code);
    }

    /// @notice The registered categories as a bitmask (bit i: code i).
    function registeredCategories() public view returns (uint64) {
        return _registeredCategories;
    }

    /// @notice Purpose `code` and its caps (`active` false: undefined or retired).
    function purpose(uint16 code) public view returns (Purpose memory) {
        return _purposes[code];
    }
}

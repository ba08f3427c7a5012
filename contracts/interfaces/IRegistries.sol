// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The regulator's registries of data categories and purposes.
/// @notice Errors and events of {Registries}.
interface IRegistries {
    /// @dev Caps a purpose puts on every consent granted for it.
    struct Purpose {
        bool active;
        uint64 allowedCategories; // bit i set: category code i may be consented for this purpose
        uint32 maxDuration; // seconds from notBefore to expiresAt, and from the grant to expiresAt
        uint32 maxReads; // reads per consent
        uint16 maxHistoryMonths; // months of history a consent may open
    }

    /// @dev Category codes are 1..63 (the registry is one 64-bit mask).
    error RegistriesInvalidCategoryCode(uint256 code);
    /// @dev The category code is already registered.
    error RegistriesCategoryAlreadyRegistered(uint8 code);
    /// @dev Names must not be empty.
    error RegistriesEmptyName();
    /// @dev Purpose code 0 is never valid.
    error RegistriesInvalidPurposeCode();
    /// @dev A purpose's duration cap must be within 1 second..365 days.
    error RegistriesDurationCapOutOfRange(uint32 maxDuration, uint32 ceiling);
    /// @dev A purpose must allow at least one read.
    error RegistriesZeroReadCap();
    /// @dev The mask is empty or names categories that are not registered.
    error RegistriesInvalidCategoryMask(uint256 categories, uint256 registered);
    /// @dev The purpose is not defined or was retired.
    error RegistriesUnknownPurpose(uint16 code);

    /// @dev The regulator registered a data category.
    event CategoryRegistered(uint8 indexed code, string name);
    /// @dev The regulator defined a purpose or changed its caps (new caps apply to new consents only).
    event PurposeDefined(
        uint16 indexed code,
        string name,
        uint64 allowedCategories,
        uint32 maxDuration,
        uint32 maxReads,
        uint16 maxHistoryMonths
    );
    /// @dev The regulator retired a purpose: no new consent can name it; existing ones are untouched.
    event PurposeRetired(uint16 indexed code);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Disputes} from "./Disputes.sol";
import {Membership} from "./Membership.sol";
import {Recovery} from "./Recovery.sol";

/// @title ConsentLedger: who may read which enterprise's data, and the record of every read.
/// @notice One deployment holds membership, the registries, consents, the access ledger, disputes and
/// recovery, so that a read is judged without cross-contract calls. EIP-712 domain: {name: "ConsentLedger",
/// version: "1", chainId, verifyingContract: this}.
contract ConsentLedger is Disputes, Recovery {
    /// @param regulator The account that governs the consortium (REGULATOR_ROLE, admin of every role).
    constructor(address regulator) EIP712("ConsentLedger", "1") Membership(regulator) {}
}

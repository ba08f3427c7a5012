// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsents} from "contracts/interfaces/IConsents.sol";
import {IAccessLedger} from "contracts/interfaces/IAccessLedger.sol";
import {Consortium} from "./Base.sol";
import {Handler} from "./Invariants.t.sol";

/// @notice Single-property fuzz tests, and a check that the invariant handler reaches the states the
/// invariants are about (so that a passing campaign means something).
contract LedgerFuzz is Consortium {
    uint256 private constant _SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 private _query;

    function setUp() public {
        _deploy(address(this));
    }

    function _grant(uint32 maxReads) private returns (bytes32 id) {
        IConsents.ConsentTerms memory t = _terms(0, 0, 1, 0);
        t.maxReads = maxReads;
        bool ok;
        (ok, id) = _grantSigned(t, 0, false);
        require(ok, "grant failed");
    }

    function _read(bytes32 id, address bank) private returns (bool accessed) {
        Read[] memory reads = new Read[](1);
        reads[0] = _entry((uint256(uint160(address(this))) << 96) | ++_query, id, bank, 0x02, 1);
        uint256 before = ledger.consent(id).readsUsed;
        _record(reads);
        return ledger.consent(id).readsUsed == before + 1;
    }

    /// Only BUREAU records: recordAccesses from any other account reverts.
    function testFuzz_onlyBureauRecords(address caller, uint96 counter) public {
        if (ledger.hasRole(ledger.BUREAU_ROLE(), caller)) return;
        bytes32 id = _grant(0);
        Read[] memory reads = new Read[](1);
        reads[0] = _entry((uint256(uint160(caller)) << 96) | (uint256(counter) + 1), id, banks[0], 0x02, 1);
        vm.prank(caller);
        vm.expectRevert();
        _record(reads);
    }

    /// Only the controllers' signatures grant: any other key is refused, and the nonce is not used.
    function testFuzz_onlyControllersGrant(uint256 key) public {
        key = 1 + key % (_SECP256K1_N - 1);
        for (uint256 k = 0; k < _controllerCount(0); ++k) {
            if (key == _controllerKey(0, k)) return;
        }
        IConsents.ConsentTerms memory t = _terms(0, 0, 1, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(keccak256(abi.encode(CONSENT_TYPEHASH, t))));
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = abi.encodePacked(r, s, v);
        vm.expectRevert();
        ledger.grantConsent(t, sigs);
        require(ledger.nonces(_nonceAccount(0), 0) == t.nonce, "nonce used by a refused grant");
    }

    /// Reads never exceed their limit, however many are asked for.
    function testFuzz_readsNeverExceedLimit(uint8 limit, uint8 attempts) public {
        uint32 maxReads = uint32(limit % 6); // 0: the purpose's cap (5)
        uint32 expected = maxReads == 0 ? 5 : maxReads;
        bytes32 id = _grant(maxReads);
        uint256 granted;
        for (uint256 i = 0; i < uint256(attempts) % 12; ++i) {
            if (_read(id, banks[0])) ++granted;
        }
        uint256 cap = uint256(attempts) % 12 < expected ? uint256(attempts) % 12 : expected;
        require(granted == cap, "reads granted differ from min(asked, limit)");
        require(ledger.consent(id).readsUsed <= expected, "reads over the limit");
    }

    /// A suspended bank gets nothing, whatever it asks, until reinstated.
    function testFuzz_suspendedBankGetsNothing(uint8 reads) public {
        bytes32 id = _grant(0);
        ledger.suspendBank(banks[0]);
        for (uint256 i = 0; i < 1 + uint256(reads) % 4; ++i) {
            require(!_read(id, banks[0]), "suspended bank read");
        }
        ledger.reinstateBank(banks[0]);
        require(_read(id, banks[0]), "reinstated bank refused");
    }

    /// The handler the invariants run on reaches grants, accesses, denials and transitions.
    function test_handlerReachesInterestingStates() public {
        Handler h = new Handler();
        for (uint256 i = 0; i < 6; ++i) {
            h.grant(i, i, i * 7919, false);
        }
        h.grant(0, 0, 1, true);
        for (uint256 i = 0; i < 8; ++i) {
            h.recordAccesses(i, 3);
        }
        h.pause(0, false);
        h.resume(0, false);
        h.revoke(1, false);
        h.toggleBank(2);
        h.recordAccesses(99, 3);
        h.warp(400 days);
        h.recordAccesses(100, 3);
        require(h.granted() == 6, "grants");
        require(h.accessed() > 0 && h.denied() > 0, "both decisions");
        require(h.transitions() == 3, "transitions");
        require(!h.modelDisagrees() && !h.forgeryAccepted() && !h.accessWhileInactive(), "violations");
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentLedger} from "contracts/ConsentLedger.sol";
import {IConsents} from "contracts/interfaces/IConsents.sol";
import {IAccessLedger} from "contracts/interfaces/IAccessLedger.sol";
import {Consortium} from "./Base.sol";
import {Vm} from "./Vm.sol";

/// @dev What forge calls with random inputs: grant, pause, resume, revoke (signed by the controllers,
/// or forged), record batches of reads as the bureau, try to record as a stranger, suspend and
/// reinstate banks, let time pass. It keeps its own account of every consent (the oracle) and raises
/// a flag whenever the ledger does something the rules forbid; the invariants read the flags.
contract Handler is Consortium {
    struct Ghost {
        uint256 enterprise;
        uint256 bank;
        uint64 categories;
        uint16 purpose;
        uint64 notBefore;
        uint64 expiresAt;
        uint32 maxReads;
        uint32 reads;
        uint8 state; // 1 active, 2 paused, 3 revoked
    }

    bytes32[] public consentIds;
    mapping(bytes32 => Ghost) internal ghosts;
    mapping(uint256 bank => bool) public suspended;
    mapping(uint256 enterprise => mapping(uint192 key => uint256)) public lastNonce;
    uint256 internal _queryCounter;

    // Violations: each one is an invariant.
    bool public accessWhileInactive;
    bool public accessBeyondLimit;
    bool public accessToSuspendedBank;
    bool public nonceWentBack;
    bool public strangerRecorded;
    bool public forgeryAccepted;
    bool public modelDisagrees; // a read the rules grant was denied, or a transition the rules allow failed

    // Coverage, so that a campaign that never reaches the interesting states is visible.
    uint256 public granted;
    uint256 public accessed;
    uint256 public denied;
    uint256 public transitions;

    constructor() {
        _deploy(address(this));
    }

    function ledgerAddress() external view returns (address) {
        return address(ledger);
    }

    function consentCount() external view returns (uint256) {
        return consentIds.length;
    }

    function ghostLimit(bytes32 id) external view returns (uint32 maxReads, uint32 reads) {
        return (ghosts[id].maxReads, ghosts[id].reads);
    }

    // ---- actions ----

    function grant(uint256 e, uint256 b, uint256 seed, bool forged) external {
        e = e % ENTERPRISES;
        b = b % BANKS;
        IConsents.ConsentTerms memory t = _randomTerms(e, b, seed);
        (bool ok, bytes32 id) = _grantSigned(t, e, forged);
        _checkNonce(e, uint192(t.nonce >> 64), ok);
        if (ok && forged) forgeryAccepted = true;
        if (!ok && !forged && !suspended[b]) modelDisagrees = true;
        if (!ok || forged) return;
        uint32 limit = t.maxReads == 0 ? (t.purpose == 1 ? 5 : 3) : t.maxReads;
        ghosts[id] = Ghost(e, b, uint64(t.categories), t.purpose, t.notBefore, t.expiresAt, limit, 0, 1);
        consentIds.push(id);
        ++granted;
    }

    /// @dev Terms within purpose `seed`'s caps: categories, a window starting now or up to two days
    /// ahead, a read limit (0: the cap), a nonce key 0..2.
    function _randomTerms(uint256 e, uint256 b, uint256 seed) private view returns (IConsents.ConsentTerms memory t) {
        uint16 p = seed % 2 == 0 ? 1 : 2;
        t = _terms(e, b, p, uint192((seed >> 160) % 3));
        uint64 allowed = uint64(t.categories);
        uint64 categories = uint64(seed >> 8) & allowed;
        t.categories = categories == 0 ? allowed : categories;
        uint64 maxDuration = p == 1 ? 365 days : 30 days;
        t.notBefore = uint64(block.timestamp) + ((seed >> 16) % 2 == 0 ? 0 : uint64((seed >> 24) % 2 days));
        t.expiresAt = t.notBefore + 1 hours + uint64((seed >> 64) % (maxDuration - 2 days - 1 hours));
        t.maxReads = uint32((seed >> 128) % ((p == 1 ? 5 : 3) + 1));
    }

    function pause(uint256 index, bool forged) external {
        _transition(index, PAUSE_TYPEHASH, forged);
    }

    function resume(uint256 index, bool forged) external {
        _transition(index, RESUME_TYPEHASH, forged);
    }

    function revoke(uint256 index, bool forged) external {
        _transition(index, REVOCATION_TYPEHASH, forged);
    }

    function recordAccesses(uint256 seed, uint256 count) external {
        count = 1 + count % 4;
        Read[] memory entries = new Read[](count);
        for (uint256 i = 0; i < count; ++i) {
            entries[i] = _randomEntry(uint256(keccak256(abi.encode(seed, i))));
        }
        vm.recordLogs();
        _record(entries);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (logs.length != count) modelDisagrees = true;
        for (uint256 i = 0; i < logs.length && i < count; ++i) {
            _judgeLog(entries[i], logs[i]);
        }
    }

    function recordAsStranger(address who, bytes32 consentId) external {
        if (ledger.hasRole(ledger.BUREAU_ROLE(), who)) return;
        IAccessLedger.AccessEntry[] memory entries = new IAccessLedger.AccessEntry[](1);
        entries[0] = _signedEntry(_entry(0, consentId, banks[0], 0x02, 1));
        vm.prank(who);
        try ledger.recordAccesses((uint256(uint160(who)) << 96) | 1, entries) {
            strangerRecorded = true;
        } catch {}
    }

    function toggleBank(uint256 b) external {
        b = b % BANKS;
        if (suspended[b]) {
            ledger.reinstateBank(banks[b]);
        } else {
            ledger.suspendBank(banks[b]);
        }
        suspended[b] = !suspended[b];
    }

    function warp(uint256 secondsLater) external {
        vm.warp(block.timestamp + 1 + secondsLater % 20 days);
    }

    // ---- the oracle ----

    function _transition(uint256 index, bytes32 typehash, bool forged) private {
        if (consentIds.length == 0) return;
        bytes32 id = consentIds[index % consentIds.length];
        Ghost storage g = ghosts[id];
        uint256 e = g.enterprise;
        uint256 nonce = ledger.nonces(_nonceAccount(e), 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes[] memory sigs = _sign(e, keccak256(abi.encode(typehash, id, nonce, deadline)), forged);
        bool ok;
        if (typehash == PAUSE_TYPEHASH) {
            try ledger.pauseConsent(id, nonce, deadline, sigs) {
                ok = true;
            } catch {}
        } else if (typehash == RESUME_TYPEHASH) {
            try ledger.resumeConsent(id, nonce, deadline, sigs) {
                ok = true;
            } catch {}
        } else {
            try ledger.revokeConsent(id, nonce, deadline, sigs) {
                ok = true;
            } catch {}
        }
        _checkNonce(e, 0, ok);
        if (forged) {
            if (ok) forgeryAccepted = true;
            return;
        }
        bool expired = block.timestamp >= g.expiresAt;
        uint8 next;
        if (typehash == PAUSE_TYPEHASH) next = (g.state == 1 && !expired) ? 2 : 0;
        else if (typehash == RESUME_TYPEHASH) next = (g.state == 2 && !expired) ? 1 : 0;
        else next = (g.state != 3 && !expired) ? 3 : 0;
        if (ok != (next != 0)) modelDisagrees = true;
        if (ok) {
            g.state = next;
            ++transitions;
        }
    }

    function _checkNonce(uint256 e, uint192 key, bool used) private {
        uint256 before = lastNonce[e][key];
        uint256 current = ledger.nonces(_nonceAccount(e), key);
        if (current < before) nonceWentBack = true;
        if (used && current <= before) nonceWentBack = true;
        lastNonce[e][key] = current;
    }

    function _randomEntry(uint256 r) private returns (Read memory) {
        uint256 queryId = (uint256(uint160(address(this))) << 96) | ++_queryCounter;
        uint256 n = consentIds.length;
        bytes32 id = n == 0 || r % 11 == 0 ? keccak256(abi.encode("no such consent", r)) : consentIds[(r >> 8) % n];
        Ghost storage g = ghosts[id];
        address bank = (r >> 40) % 5 == 0 ? banks[(r >> 48) % BANKS] : banks[g.bank];
        uint64 categories = (r >> 56) % 5 == 0 ? uint64((r >> 64) % 32) : (g.categories & uint64((r >> 72) | 1));
        if (categories == 0 && (r >> 80) % 2 == 0) categories = g.categories;
        uint16 purpose = (r >> 88) % 6 == 0 ? uint16(1 + (r >> 96) % 3) : g.purpose;
        return _entry(queryId, id, bank, categories, purpose);
    }

    /// @dev The decision the rules (README, The ledger) give for `entry` now, counting earlier reads.
    function _grantable(Read memory entry)
        private
        view
        returns (bool active, bool bankOk, bool withinLimit, bool matches)
    {
        Ghost storage g = ghosts[entry.consentId];
        active = g.state == 1 && block.timestamp >= g.notBefore && block.timestamp < g.expiresAt;
        bankOk = entry.bank == banks[g.bank] && !suspended[g.bank];
        withinLimit = g.reads < g.maxReads;
        matches = entry.purpose == g.purpose && entry.categories != 0 && entry.categories & ~g.categories == 0;
    }

    function _judgeLog(Read memory entry, Vm.Log memory log) private {
        (bool active, bool bankOk, bool withinLimit, bool matches) = _grantable(entry);
        bool expected = active && bankOk && withinLimit && matches;
        bool wasAccessed = log.topics[0] == IAccessLedger.DataAccessed.selector;
        if (log.topics[1] != entry.consentId) modelDisagrees = true;
        // The data: the read's query id and access word (the reason in its low 16 bits).
        (uint256 queryId, uint256 access) = abi.decode(log.data, (uint256, uint256));
        if (queryId != entry.queryId || access >> 16 != _access(entry) >> 16) modelDisagrees = true;
        if (wasAccessed != (access & 0xffff == 0)) modelDisagrees = true;
        if (!wasAccessed) {
            ++denied;
            if (log.topics[0] != IAccessLedger.AccessDenied.selector || expected) modelDisagrees = true;
            return;
        }
        ++accessed;
        Ghost storage g = ghosts[entry.consentId];
        if (!active) accessWhileInactive = true;
        if (!withinLimit) accessBeyondLimit = true;
        if (g.state != 0 && suspended[g.bank]) accessToSuspendedBank = true;
        if (!expected) modelDisagrees = true;
        ++g.reads;
    }
}

/// @notice The ledger's safety properties under random sequences of grants, pauses, resumes,
/// revocations, batches of reads, forged signatures, strangers, suspensions and time.
contract LedgerInvariants {
    Handler internal handler;
    ConsentLedger internal ledger;

    function setUp() public {
        handler = new Handler();
        ledger = ConsentLedger(handler.ledgerAddress());
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// No DataAccessed for a consent that is not active (revoked, paused, expired, not yet valid).
    function invariant_noAccessUnlessActive() public view {
        require(!handler.accessWhileInactive(), "DataAccessed for a consent that was not active");
    }

    /// Reads never exceed their limit: on the ledger and by the count of DataAccessed events.
    function invariant_readsWithinLimit() public view {
        require(!handler.accessBeyondLimit(), "DataAccessed beyond the consent's read limit");
        uint256 n = handler.consentCount();
        for (uint256 i = 0; i < n; ++i) {
            bytes32 id = handler.consentIds(i);
            IConsents.ConsentView memory c = ledger.consent(id);
            (uint32 maxReads, uint32 reads) = handler.ghostLimit(id);
            require(c.readsUsed <= c.maxReads && c.maxReads == maxReads, "ledger reads over the limit");
            require(c.readsUsed == reads, "ledger read count differs from its DataAccessed events");
        }
    }

    /// Nonces only increase (a used nonce is never valid again).
    function invariant_noncesOnlyIncrease() public view {
        require(!handler.nonceWentBack(), "a nonce went back or was not consumed");
        for (uint256 e = 0; e < 3; ++e) {
            address account = ledger.subjectNonceAccount(keccak256(abi.encode("enterprise", e)));
            for (uint192 key = 0; key < 3; ++key) {
                require(ledger.nonces(account, key) >= handler.lastNonce(e, key), "nonce below one seen before");
            }
        }
    }

    /// Only the bureau records reads: recordAccesses by anyone else reverts.
    function invariant_onlyBureauRecords() public view {
        require(!handler.strangerRecorded(), "a non-bureau account recorded reads");
    }

    /// Only the controllers' signatures grant (or pause, resume, revoke).
    function invariant_onlyControllersSign() public view {
        require(!handler.forgeryAccepted(), "a signature by non-controllers was accepted");
    }

    /// A suspended bank gets no DataAccessed.
    function invariant_suspendedBankGetsNothing() public view {
        require(!handler.accessToSuspendedBank(), "DataAccessed for a suspended bank");
    }

    /// The ledger decides every read and transition exactly as the rules do (the handler's oracle).
    function invariant_ledgerAgreesWithTheRules() public view {
        require(!handler.modelDisagrees(), "the ledger's decision differs from the rules");
    }
}

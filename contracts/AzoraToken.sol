// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title AzoraToken
/// @notice The Azora reward token (AZR, 18 decimals) and the public anchor of the Azora
///         token log: an append-only list of Merkle tree heads (tree size + root) against which
///         anyone can check an RFC 9162 inclusion proof, hashed with keccak256.
/// @dev Tree hashing (RFC 9162 section 2.1 with keccak256 in place of SHA-256):
///      leafHash = keccak256(0x00 || leafBytes), node = keccak256(0x01 || left || right).
///      Every anchor after the first carries the RFC 9162 section 2.1.4 consistency proof
///      from the last anchored (size, root), checked here: the chain itself refuses a root
///      that does not extend the anchored history.
///      Storage per anchor: a fresh slot for the root and half a slot for (treeSize,
///      timestamp), two anchors sharing one; plus the running head (count, last tree size),
///      updated in place. An anchor's cost depends on the parity of its index and on the
///      proof's length (O(log n) nodes of calldata and hashing), nothing else.
contract AzoraToken is ERC20, AccessControl {
    /// @notice Role allowed to call {anchor}.
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");
    /// @notice Role allowed to call {mint} (on-chain withdrawals of ledger balances).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @dev A tree size is a uint64, so an inclusion path never has more than 64 nodes.
    uint256 private constant MAX_PROOF_LENGTH = 64;

    /// @dev (treeSize, timestamp) of two consecutive anchors share one slot: anchor i is the
    ///      half `i & 1` of `_pairs[i >> 1]`. An even anchor fills a fresh slot, the odd one
    ///      after it completes that slot.
    struct SizePair {
        uint64 treeSize0;
        uint64 timestamp0;
        uint64 treeSize1;
        uint64 timestamp1;
    }

    mapping(uint256 pairIndex => SizePair) private _pairs;
    /// @dev anchorIndex => root; one fresh slot per anchor.
    mapping(uint256 anchorIndex => bytes32 root) private _roots;
    /// @dev The running head, one slot read and written once per anchor.
    uint64 private _anchorCount;
    uint64 private _lastTreeSize;

    /// @notice A tree head of the token log was anchored.
    /// @param index 0-based position of the anchor, as read back by {anchorAt}.
    /// @param treeSize Number of leaves in the anchored tree.
    /// @param root Merkle root of those leaves.
    event Anchored(uint256 indexed index, uint64 treeSize, bytes32 root);

    /// @notice The constructor was given the zero address as admin.
    error AzoraInvalidAdmin();
    /// @notice {anchor} was called with a tree size not larger than the last anchored one.
    /// @param treeSize The size given.
    /// @param lastTreeSize The size of the latest anchor (0 when there is none).
    error AzoraTreeSizeNotIncreasing(uint64 treeSize, uint64 lastTreeSize);
    /// @notice The first anchor was given a consistency proof: there is nothing to extend.
    /// @param proofLength Number of nodes given.
    error AzoraFirstAnchorTakesNoProof(uint256 proofLength);
    /// @notice {anchor}'s consistency proof does not show that the new tree extends the last
    ///         anchored one (RFC 9162 section 2.1.4.2): the anchor would rewrite history.
    /// @param lastTreeSize Size of the latest anchor, the proof's old size.
    /// @param treeSize The new size given.
    error AzoraInconsistentAnchor(uint64 lastTreeSize, uint64 treeSize);
    /// @notice {anchorAt} was asked for an anchor that does not exist.
    /// @param index The index asked for.
    /// @param count The number of anchors.
    error AzoraAnchorIndexOutOfRange(uint256 index, uint256 count);

    /// @param admin Receives DEFAULT_ADMIN_ROLE, ANCHOR_ROLE and MINTER_ROLE.
    constructor(address admin) ERC20("Azora Token", "AZR") {
        if (admin == address(0)) revert AzoraInvalidAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHOR_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Appends a tree head of the token log.
    /// @dev Requires ANCHOR_ROLE. The log only grows, so a size equal to or below the last
    ///      anchored size is refused; the first anchor needs a size of at least 1 and an
    ///      empty proof; every later one the consistency proof from the last anchor.
    ///      Known limit (DESIGN section 14): a consistency proof does not pin the new size
    ///      exactly (the proof 40 -> 41 with the root of 41 also verifies for a claimed 42..48).
    ///      Such an anchor cannot rewrite history: the next honest anchor fails against it.
    /// @param treeSize Number of leaves in the tree.
    /// @param root Merkle root of the tree (RFC 9162, keccak256).
    /// @param consistencyProof RFC 9162 section 2.1.4.1 proof from the last anchored size.
    function anchor(uint64 treeSize, bytes32 root, bytes32[] calldata consistencyProof)
        external
        onlyRole(ANCHOR_ROLE)
    {
        uint64 last = _lastTreeSize;
        if (treeSize <= last) revert AzoraTreeSizeNotIncreasing(treeSize, last);
        uint64 index = _anchorCount;
        if (index == 0) {
            if (consistencyProof.length != 0) {
                revert AzoraFirstAnchorTakesNoProof(consistencyProof.length);
            }
        } else if (!_consistent(last, treeSize, _roots[index - 1], root, consistencyProof)) {
            revert AzoraInconsistentAnchor(last, treeSize);
        }
        uint64 timestamp = uint64(block.timestamp);
        if (index & 1 == 0) {
            _pairs[index >> 1] = SizePair(treeSize, timestamp, 0, 0);
        } else {
            SizePair storage pair = _pairs[index >> 1];
            pair.treeSize1 = treeSize;
            pair.timestamp1 = timestamp;
        }
        _roots[index] = root;
        // Cannot overflow: the tree size grows by at least one per anchor and is a uint64.
        unchecked {
            _anchorCount = index + 1;
        }
        _lastTreeSize = treeSize;
        emit Anchored(index, treeSize, root);
    }

    /// @notice Number of anchors so far.
    function anchorCount() external view returns (uint256) {
        return _anchorCount;
    }

    /// @notice The anchor at `index` (0-based).
    /// @dev Reverts with {AzoraAnchorIndexOutOfRange} when `index >= anchorCount()`.
    /// @return treeSize Number of leaves in the anchored tree.
    /// @return root Merkle root of the anchored tree.
    /// @return timestamp Block timestamp of the anchoring transaction.
    function anchorAt(uint256 index)
        external
        view
        returns (uint64 treeSize, bytes32 root, uint64 timestamp)
    {
        uint256 count = _anchorCount;
        if (index >= count) revert AzoraAnchorIndexOutOfRange(index, count);
        SizePair storage pair = _pairs[index >> 1];
        if (index & 1 == 0) return (pair.treeSize0, _roots[index], pair.timestamp0);
        return (pair.treeSize1, _roots[index], pair.timestamp1);
    }

    // Slither taints the tree size with block.timestamp because both share a storage slot,
    // and then reports the path arithmetic below as strict equalities on a timestamp. No
    // comparison here involves a time or a balance: see contracts/README.md, "Slither".
    // slither-disable-start incorrect-equality,timestamp
    /// @notice Checks an RFC 9162 (section 2.1.3.2) inclusion proof against an anchored root.
    /// @dev Never reverts on bad input: an unknown anchor, a leaf index outside the tree, a
    ///      proof of the wrong length or with a wrong node all give false.
    /// @param anchorIndex Which anchor's tree size and root to check against.
    /// @param leafIndex 0-based index of the leaf in that tree.
    /// @param leafHash keccak256(0x00 || leafBytes).
    /// @param proof Audit path from the leaf up, as produced per RFC 9162 section 2.1.3.1.
    /// @return True when the path recomputes the anchored root.
    function verifyInclusion(
        uint256 anchorIndex,
        uint64 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (anchorIndex >= _anchorCount || proof.length > MAX_PROOF_LENGTH) return false;
        uint64 treeSize = _treeSizeAt(anchorIndex);
        if (leafIndex >= treeSize) return false;

        uint256 fn = leafIndex;
        uint256 sn = treeSize - 1;
        bytes32 r = leafHash;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = _hashNode(proof[i], r);
                // fn is a right-most left child here: climb to where it becomes a right child.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = _hashNode(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == _roots[anchorIndex];
    }

    /// @notice Checks an RFC 9162 (section 2.1.4.2) consistency proof: the tree `newRoot` of
    ///         `newSize` leaves extends the tree `oldRoot` of `oldSize` leaves.
    /// @dev What {anchor} checks. Never reverts: a size pair no proof can link
    ///      (`oldSize == 0`, `oldSize >= newSize`) or any wrong node gives false.
    /// @return True when the proof recomputes both roots.
    function verifyConsistency(
        uint64 oldSize,
        uint64 newSize,
        bytes32 oldRoot,
        bytes32 newRoot,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        if (oldSize == 0 || oldSize >= newSize) return false;
        return _consistent(oldSize, newSize, oldRoot, newRoot, proof);
    }

    /// @dev RFC 9162 section 2.1.4.2, steps 1-7, in assembly: calldata read in place, both
    ///      hashes in one scratch buffer past the free-memory pointer (not moved), about a
    ///      third of the gas per node of the Solidity loop. Precondition: 0 < m < n. Each node
    ///      consumed shifts sn right at least once and sn < 2**64, so a proof longer than the
    ///      path fails at `sn == 0` after at most 64 nodes.
    function _consistent(
        uint256 m,
        uint256 n,
        bytes32 oldRoot,
        bytes32 newRoot,
        bytes32[] calldata proof
    ) private pure returns (bool ok) {
        assembly ("memory-safe") {
            let ptr := proof.offset
            let end := add(ptr, shl(5, proof.length))
            let valid := gt(proof.length, 0)
            let fr := oldRoot
            // m not a power of two: the proof's first node is the path's seed.
            if and(valid, iszero(iszero(and(m, sub(m, 1))))) {
                fr := calldataload(ptr)
                ptr := add(ptr, 0x20)
            }
            let sr := fr
            let fn := sub(m, 1)
            let sn := sub(n, 1)
            for {} and(fn, 1) {} {
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            for {} and(valid, lt(ptr, end)) { ptr := add(ptr, 0x20) } {
                if iszero(sn) {
                    valid := 0
                    break
                }
                let c := calldataload(ptr)
                switch or(and(fn, 1), eq(fn, sn))
                case 0 {
                    mstore(add(buf, 0x01), sr)
                    mstore(add(buf, 0x21), c)
                    sr := keccak256(buf, 0x41)
                }
                default {
                    mstore(add(buf, 0x01), c)
                    mstore(add(buf, 0x21), fr)
                    fr := keccak256(buf, 0x41)
                    mstore(add(buf, 0x21), sr)
                    sr := keccak256(buf, 0x41)
                    // A right-most left child: climb to where it becomes a right child.
                    for {} and(iszero(and(fn, 1)), gt(fn, 0)) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            ok := and(valid, and(iszero(sn), and(eq(fr, oldRoot), eq(sr, newRoot))))
        }
    }
    // slither-disable-end incorrect-equality,timestamp

    /// @notice Mints `amount` smallest units to `to`.
    /// @dev Requires MINTER_ROLE. Used for on-chain withdrawals of ledger balances.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @dev Tree size of an existing anchor.
    function _treeSizeAt(uint256 index) private view returns (uint64) {
        SizePair storage pair = _pairs[index >> 1];
        return index & 1 == 0 ? pair.treeSize0 : pair.treeSize1;
    }

    /// @dev keccak256(0x01 || left || right), hashed in free memory without allocating.
    function _hashNode(bytes32 left, bytes32 right) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            h := keccak256(ptr, 0x41)
        }
    }
}

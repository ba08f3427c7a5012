// Preloaded into the EthereumJS client (node --import) for Clique networks.
//
// The client (@ethereumjs/vm and /block 10) runs transactions inside provisional blocks that
// have no seal yet: the block builder for each transaction it adds, eth_estimateGas for the
// call it simulates. On Clique such a header fails the consensus-format check ("extraData must
// be 97 bytes on non-epoch transition blocks"): every transaction is skipped and every estimate
// refused. Two mends:
// (1) a header with no extraData at all (one built here, never one sealed by a signer) skips
//     that format check; a peer's block without a seal still fails, since its signer is then
//     the zero address, which is no authorised signer;
// (2) the EVMs the client copies for calls and estimates lack the signer lookup Clique needs for
//     COINBASE ("Must include cliqueSigner function"): they get the standard one;
// (3) the builder's provisional block is sealed by the block's signer, as the final one is, so
//     the fees go to the signer and the sealed block's state root matches its execution (blob
//     transactions, not used on these networks, keep the original path);
// (4) the contracts are compiled for Cancun, but the client runs Shanghai and later only after
//     the Merge, behind a consensus client, and Clique is a pre-Merge engine: the opcodes they
//     use, PUSH0 (EIP-3855), MCOPY (EIP-5656) and TLOAD/TSTORE (EIP-1153), are switched on as
//     EIPs on the London Clique chain, with their own gas costs, on every node alike.
import { pathToFileURL } from 'node:url';

const vmEntry = process.env.CONSENTLEDGER_ETHEREUMJS_VM;
const blockEntry = process.env.CONSENTLEDGER_ETHEREUMJS_BLOCK;
const evmEntry = process.env.CONSENTLEDGER_ETHEREUMJS_EVM;
const commonEntry = process.env.CONSENTLEDGER_ETHEREUMJS_COMMON;
if (!vmEntry || !blockEntry || !evmEntry || !commonEntry) {
  throw new Error('CONSENTLEDGER_ETHEREUMJS_VM, _BLOCK, _EVM and _COMMON must be set');
}
const { Common } = await import(pathToFileURL(commonEntry).href);
const CANCUN_OPCODE_EIPS = [3855, 5656, 1153];
const withOpcodeEIPs = (common) => {
  if (common.consensusAlgorithm() !== 'clique') return;
  for (const eip of CANCUN_OPCODE_EIPS) if (!common._eips.includes(eip)) common._eips.push(eip);
};
for (const name of ['_buildParamsCache', '_buildActivatedEIPsCache']) {
  const original = Common.prototype[name];
  Common.prototype[name] = function (...args) {
    withOpcodeEIPs(this);
    return original.apply(this, args);
  };
}
const { EVM } = await import(pathToFileURL(evmEntry).href);
const { BlockBuilder, runTx } = await import(pathToFileURL(vmEntry).href);
const { BlockHeader, cliqueSigner, createBlockFromBytesArray, createSealedCliqueBlock } = await import(pathToFileURL(blockEntry).href);

const runInterpreter = EVM.prototype.runInterpreter;
EVM.prototype.runInterpreter = function (...args) {
  if (this._optsCached.cliqueSigner === undefined && this.common.consensusType() === 'poa') {
    this._optsCached.cliqueSigner = cliqueSigner;
  }
  return runInterpreter.apply(this, args);
};

const formatValidation = BlockHeader.prototype._consensusFormatValidation;
BlockHeader.prototype._consensusFormatValidation = function (...args) {
  if (this.number > 0n && this.extraData.length === 0 && this.common.consensusAlgorithm() === 'clique') return;
  return formatValidation.apply(this, args);
};

const addTransaction = BlockBuilder.prototype.addTransaction;
BlockBuilder.prototype.addTransaction = async function (tx, opts = {}) {
  const signer = this.blockOpts.cliqueSigner;
  if (signer === undefined || tx.type === 3) return addTransaction.call(this, tx, opts);
  this.checkStatus();
  if (!this.checkpointed) {
    await this.vm.evm.journal.checkpoint();
    this.checkpointed = true;
  }
  const remaining = BigInt(this.headerData.gasLimit) - this.gasUsed;
  if (tx.gasLimit > remaining) {
    throw new Error('tx has a higher gas limit than the remaining gas in the block');
  }
  const header = { ...this.headerData, gasUsed: this.gasUsed };
  const block = createSealedCliqueBlock({ header, transactions: this.transactions }, signer, this.blockOpts);
  const result = await runTx(this.vm, { tx, block, skipHardForkValidation: opts.skipHardForkValidation });
  this.transactions.push(tx);
  this.transactionResults.push(result);
  this.gasUsed += result.totalGasSpent;
  this._minerValue += result.minerValue;
  return result;
};

// (5) Block propagation and fork choice between Clique signers. The client sends a new block
//     whole to the square root of its peers and imports it only when it extends its own head: a
//     sibling of its head (an in-turn block racing an out-of-turn one) or a block on a branch it
//     does not follow is announced by hash alone, and the fetcher, whose target height is already
//     past it, never asks for it. Each signer then stays on its own branch for good and the
//     network stalls once no branch has enough signers to seal (the recent-signer rule). Here a
//     block whose parent the node has is imported whatever its branch (the blockchain's own
//     total-difficulty fork choice, in-turn 2 and out-of-turn 1, then reorganises onto the
//     heavier branch and the execution re-runs from the common ancestor), and it is relayed
//     whole to every peer that has not seen it.
//     A block whose parent it lacks (a branch it missed) comes with its missing ancestors, asked
//     of the peer that sent it by hash (at most 64, one fetch at a time).
//     The transactions of blocks a reorganisation dropped go back to the pool once the new
//     head is executed (the client leaves them out; other clients put them back), unless the
//     new branch holds them: a sender's later transactions are not left behind a nonce gap.
const fullSyncEntry = process.env.CONSENTLEDGER_ETHEREUMJS_FULLSYNC;
const REINJECT_WAIT_MS = 10_000;
const REINJECT_AFTER_MS = 300;
//     So do those of a block imported on a branch the node does not follow, its own sealed block
//     beaten by a heavier sibling among them (the miner takes a sealed block's transactions out
//     of its pool whether or not the block became the head).
async function reinjectDropped(sync, oldHead, imported) {
  const { blockchain } = sync.chain;
  const canonical = async (block) => {
    const found = await blockchain.getBlock(block.header.number).catch(() => undefined);
    return found !== undefined && equalBytes(found.hash(), block.hash());
  };
  const dropped = [];
  let block = oldHead;
  try {
    while (block.header.number > 0n && !(await canonical(block))) {
      dropped.unshift(block);
      block = await blockchain.getBlock(block.header.parentHash);
    }
    if (dropped.length > 0) {
      sync.config.logger?.info(`Reorganised: ${dropped.length} block(s) dropped from number=${block.header.number + 1n}; their transactions go back to the pool`);
    }
    for (const side of imported) if (!(await canonical(side))) dropped.push(side);
  } catch {
    return;
  }
  if (dropped.every((gone) => gone.transactions.length === 0)) return;
  await new Promise((resolve) => setTimeout(resolve, REINJECT_AFTER_MS));
  const deadline = Date.now() + REINJECT_WAIT_MS;
  const vm = sync.execution.vm;
  while (Date.now() < deadline) {
    const head = await sync.chain.getCanonicalHeadHeader();
    if (await vm.stateManager.hasStateRoot(head.stateRoot)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const gone of dropped) {
    for (const tx of gone.transactions) {
      try {
        await sync.txPool.add(tx, true);
      } catch (err) {
        // Included in the new branch (nonce too low), or no longer valid: left out.
        sync.config.logger?.debug(`Not back to the pool: nonce=${tx.nonce} ${err.message}`);
      }
    }
  }
}
function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
const MAX_ANCESTORS = 64;
let fetchingAncestors = false;
// The branch from the first ancestor of `block` this node has (exclusive) to `block`, asked of
// `peer`; undefined if it cannot be had now.
async function ancestorsFrom(peer, block, known) {
  if (peer?.eth === undefined || fetchingAncestors) return undefined;
  fetchingAncestors = true;
  try {
    const headersResult = await peer.eth.getBlockHeaders({ block: block.header.parentHash, max: MAX_ANCESTORS, reverse: true });
    const headers = Array.isArray(headersResult) ? headersResult[1] : [];
    const missing = [];
    for (const header of headers) {
      missing.push(header);
      if (await known(header.parentHash)) break;
    }
    if (missing.length === 0 || !(await known(missing[missing.length - 1].parentHash))) return undefined;
    missing.reverse();
    const bodiesResult = await peer.eth.getBlockBodies({ hashes: missing.map((h) => h.hash()) });
    const bodies = Array.isArray(bodiesResult) ? bodiesResult[1] : [];
    if (bodies.length !== missing.length) return undefined;
    const blocks = missing.map((header, i) => createBlockFromBytesArray([header.raw(), ...bodies[i]], { common: header.common }));
    return [...blocks, block];
  } catch {
    return undefined;
  } finally {
    fetchingAncestors = false;
  }
}
if (fullSyncEntry) {
  const { FullSynchronizer } = await import(pathToFileURL(fullSyncEntry).href);
  const handleNewBlock = FullSynchronizer.prototype.handleNewBlock;
  FullSynchronizer.prototype.handleNewBlock = async function (block, peer) {
    if (this.config.chainCommon.consensusAlgorithm() !== 'clique') return handleNewBlock.call(this, block, peer);
    if (peer) this.addToKnownByPeer(block.hash(), peer);
    const { blockchain } = this.chain;
    const known = async (hash) => {
      try {
        await blockchain.getBlock(hash);
        return true;
      } catch {
        return false;
      }
    };
    if (!(await known(block.hash()))) {
      let branch = [block];
      if (!(await known(block.header.parentHash))) {
        branch = await ancestorsFrom(peer, block, known);
        if (branch === undefined) return handleNewBlock.call(this, block, peer);
      }
      const before = this.chain.blocks.latest;
      try {
        await this.chain.putBlocks(branch);
      } catch (err) {
        this.config.logger?.debug(`Refused block number=${block.header.number}: ${err}`);
        return;
      }
      // Their transactions leave the pool, as the fetcher's imports do (a sender whose mined
      // transactions stay pooled is skipped by the miner for good: the pool's lowest nonce is
      // not the account's); those of a branch not followed come back just below.
      this.txPool.removeNewBlockTxs(branch);
      void reinjectDropped(this, before, branch);
      const number = block.header.number;
      if (!this.config.syncTargetHeight || number > this.config.syncTargetHeight) {
        this.config.syncTargetHeight = number;
      }
    }
    await this.sendNewBlock(block, this.pool.peers);
  };
}

// (6) The miner seals on the chain's latest block as soon as its timer fires, while that block
//     may be imported and not yet executed (execution follows an import asynchronously): its
//     state root is then missing, the assembly throws, and the client treats the error as
//     fatal and exits. Here a signer whose parent state is not there yet tries again shortly.
const minerEntry = process.env.CONSENTLEDGER_ETHEREUMJS_MINER;
if (minerEntry) {
  const { Miner } = await import(pathToFileURL(minerEntry).href);
  const assembleBlock = Miner.prototype.assembleBlock;
  const RETRY_MS = 200;
  Miner.prototype.assembleBlock = async function () {
    if (this.config.chainCommon.consensusType() !== 'poa') return assembleBlock.call(this);
    const parent = this.service.chain.blocks.latest;
    const ready = await this.execution.vm.stateManager.hasStateRoot(parent.header.stateRoot);
    if (!ready || this.assembling) {
      if (!this.assembling) await this.queueNextAssembly(RETRY_MS);
      return;
    }
    try {
      return await assembleBlock.call(this);
    } catch (err) {
      this.assembling = false;
      this.config.logger?.info(`Miner: assembly on block ${parent.header.number} failed (${err.message}); again shortly`);
      await this.queueNextAssembly(RETRY_MS);
    }
  };
}

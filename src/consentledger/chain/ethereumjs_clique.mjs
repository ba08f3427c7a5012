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
const { BlockHeader, cliqueSigner, createSealedCliqueBlock } = await import(pathToFileURL(blockEntry).href);

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

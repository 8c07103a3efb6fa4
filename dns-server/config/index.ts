// The generated-configuration contract, as the operator imports it.
export * from './types.js';
export { canonicalJson, computeShardHash, withHash } from './hash.js';
export { validateShard, validateBundle } from './validate.js';
export type { ShardValidation, BundleValidation } from './validate.js';

// The compiler: CRs + core Services → generated configuration + statuses (see compiler.ts).
export { createCompiler, compile } from './compiler.js';
export { shardJson } from './rrsets.js';
export { finish, STEP_ITEMS } from './steps.js';
export type { Steps } from './steps.js';
export type { Snapshot, CompileOptions, CompilePhase, ResourceResult, CompileResult, Condition, ConditionStatus, Compiler, ResourceKind } from './types.js';
export { FORWARDER_DEFAULTS, ZONE_DEFAULTS, STATIC_HOST_DEFAULTS } from './parse-crs.js';

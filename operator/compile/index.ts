// The compiler: CRs + core Services → generated configuration + statuses (see compiler.ts).
export { createCompiler, compile, HOSTNAME_ANNOTATION } from './compiler.js';
export type { Snapshot, CompileOptions, ResourceResult, CompileResult, Condition, ConditionStatus, Compiler, ResourceKind } from './types.js';
export { CLUSTER_TTL, DNS_SCHEMA_VERSION } from './cluster-services.js';
export { FORWARDER_DEFAULTS, ZONE_DEFAULTS, STATIC_HOST_DEFAULTS } from './parse-crs.js';

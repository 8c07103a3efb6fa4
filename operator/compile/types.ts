// The compiler's contract (see the team brief): a Snapshot of raw Kubernetes objects in, the
// generated configuration plus the status of every custom resource out.

import type { ConfigBundle } from '../../dns-server/config/types.js';

/** Raw Kubernetes JSON objects, as the API server (or a YAML file) gives them. */
export interface Snapshot {
  zones: object[];
  forwarders: object[];
  staticHosts: object[];
  services: object[];
  endpointSlices: object[];
  namespaces: object[];
  /** networking.k8s.io/v1 Ingresses (published by a zone's spec.ingresses); absent: none. */
  ingresses?: object[];
  /** gateway.networking.k8s.io Gateways: the addresses of the routes attached to them. */
  gateways?: object[];
  /** gateway.networking.k8s.io/v1 HTTPRoutes (published by a zone's spec.routes). */
  httpRoutes?: object[];
  /** gateway.networking.k8s.io/v1 GRPCRoutes. */
  grpcRoutes?: object[];
  /** gateway.networking.k8s.io/v1alpha2 TLSRoutes. */
  tlsRoutes?: object[];
}

export interface CompileOptions {
  /** The cluster domain, e.g. "cluster.local" (with or without the trailing dot). */
  clusterDomain: string;
  /** The operator's own namespace: its StaticHosts may claim any name outside the cluster domain. */
  operatorNamespace: string;
  /**
   * Called as each phase ends, with the phase's name, so that a caller can time the phases with
   * its own clock (compile reads none). Benchmarks use it; it must not throw.
   */
  onPhase?: (phase: CompilePhase) => void;
  /** The cluster's Service CIDRs (default reverse-zones.ts DEFAULT_SERVICE_CIDRS): reverse zones served authoritatively; only ClusterIPs have PTRs there. */
  serviceCIDRs?: readonly string[];
  /** The cluster's Pod CIDRs (default DEFAULT_POD_CIDRS): reverse zones served authoritatively. */
  podCIDRs?: readonly string[];
  /**
   * Honour ExternalDNS's `external-dns.alpha.kubernetes.io/hostname` annotation on Services as an
   * alias of `splitdns.io/hostname` (comma-separated names; splitdns.io/hostname wins when both
   * are set). Off by default.
   */
  externalDnsHostnameAnnotation?: boolean;
}

/** The phases of compile(), in order (docs/compiler.md). */
export type CompilePhase = 'parse' | 'domains' | 'index' | 'services' | 'contributors' | 'claims' | 'reverse' | 'shards' | 'statuses';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/**
 * A Kubernetes-style condition (metav1.Condition). compile() leaves lastTransitionTime out (it
 * reads no clock); the status writer stamps it.
 */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime?: string;
}

export type ResourceKind = 'DNSZone' | 'DNSForwarder' | 'StaticHost';

export interface ResourceResult {
  kind: ResourceKind;
  namespace?: string;
  name: string;
  uid?: string;
  generation: number;
  status: { observedGeneration: number; conditions: Condition[]; [figure: string]: unknown };
  /** The shards that carry this resource's names (the operator's Programmed check). */
  shardIds: string[];
}

export interface CompileResult {
  bundle: ConfigBundle;
  /** One per custom resource in the snapshot, sorted by kind, namespace, name. */
  resources: ResourceResult[];
  /** What was refused of objects that have no status of their own (a Service's PTRs), sorted by ref. */
  notices?: { ref: string; reason: 'NotPermitted' | 'Conflict'; message: string }[];
}

export interface Compiler {
  compile(s: Snapshot): CompileResult;
  /**
   * The same compile as steps (operator/compile/steps.ts): a generator that yields where the
   * caller may pause it and returns the result. Run it to its end before the next compile:
   * the compiler's cache is consistent only between whole compiles.
   */
  steps(s: Snapshot): Generator<void, CompileResult, void>;
}

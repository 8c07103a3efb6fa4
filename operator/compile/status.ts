// Conditions in the Kubernetes convention. compile() decides Accepted; Programmed stays
// Unknown (Pending) until the operator has seen every ready DNS server serve the resource's
// shards; Ready summarises both.

import type { Meta } from './meta.js';
import type { Condition, ConditionStatus } from './types.js';

/** Condition type present (status True) while part of an accepted resource is not served; reason NotPermitted or Conflict. */
export const PARTIALLY_REFUSED = 'PartiallyRefused';

export type Verdict =
  | { accepted: true; message: string; /** Served, but part of it is not (refused PTRs, records the cluster owns): condition PartiallyRefused. */ refused?: { reason: 'NotPermitted' | 'Conflict'; message: string } }
  | { accepted: false; reason: 'InvalidSpec' | 'NotPermitted' | 'Conflict'; message: string };

/** metav1.Time: RFC 3339 with second precision. */
export function k8sTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function condition(meta: Meta, now: string, type: string, status: ConditionStatus, reason: string, message: string): Condition {
  const prev = meta.prevConditions.find((c) => c.type === type);
  const lastTransitionTime = prev && prev.status === status && typeof prev.lastTransitionTime === 'string' ? prev.lastTransitionTime : now;
  return { lastTransitionTime, message, observedGeneration: meta.generation, reason, status, type };
}

export function buildConditions(meta: Meta, v: Verdict, now: Date): Condition[] {
  const t = k8sTime(now);
  if (v.accepted) {
    const out = [
      condition(meta, t, 'Accepted', 'True', 'Accepted', v.message),
      condition(meta, t, 'Programmed', 'Unknown', 'Pending', 'Waiting for every ready DNS server to serve the generated configuration'),
      condition(meta, t, 'Ready', 'Unknown', 'Pending', 'Accepted; not yet confirmed served by the DNS servers'),
    ];
    if (v.refused) out.push(condition(meta, t, PARTIALLY_REFUSED, 'True', v.refused.reason, v.refused.message));
    return out;
  }
  return [
    condition(meta, t, 'Accepted', 'False', v.reason, v.message),
    condition(meta, t, 'Programmed', 'False', 'NotAccepted', 'Not served: the resource is not accepted'),
    condition(meta, t, 'Ready', 'False', v.reason, v.message),
  ];
}

// The compiler's memory between calls: identities of input objects, parse caches, and the
// entry and outcome types the memoisation keys on (see compiler.ts and docs/compiler.md).

import type { ServiceInfo, SliceInfo } from './cluster-services.js';
import { obj } from './meta.js';
import type { Meta, Raw } from './meta.js';
import type { ParsedZone } from './parse-crs.js';
import type { Verdict } from './status.js';
import type { Contribution } from './zones.js';

/** Identity of an input object: uid@resourceVersion when it has both, else its object identity. */
export class Identities {
  private readonly ids = new WeakMap<object, string>();
  private next = 0;
  of(o: object): string {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.fresh(o)));
    return id;
  }
  /** The identity without remembering it (the caller keeps it with the object). */
  fresh(o: object): string {
    const m = obj((o as Raw).metadata);
    return typeof m.uid === 'string' && typeof m.resourceVersion === 'string' ? `${m.uid}@${m.resourceVersion}` : `#${++this.next}`;
  }
}

/** Parses each raw object once per identity. */
export function cached<T>(cache: WeakMap<object, T>, o: object, parse: (r: Raw) => T): T {
  let v = cache.get(o);
  if (v === undefined) { v = parse(o as Raw); cache.set(o, v); }
  return v;
}

export type Rejection = Extract<Verdict, { accepted: false }>;

export type Contributor = {
  meta: Meta;
  /** Identity of everything the outcome depends on. */
  ident: string;
  build: () => { placements: Map<string, Contribution> } | Rejection;
  /** Services only: the zones to note a name not published in. */
  skipZones?: ParsedZone[];
};
export interface SvcEntry { contributor?: Contributor; contributorZonesKey?: string; /** the single slice entry it was built with (null: none; undefined: several, always rebuilt) */ contributorSlice?: SliceEntry | null; svc: ServiceInfo; id: string; /** "<namespace>/<name>" */ key: string; gen: number; targets?: { key: string; list: { zone: ParsedZone; name: string }[] } }
export interface ClaimsOutcome {
  rejected: [string, Rejection][];
  accepted: [string, string[], Record<string, unknown>][];
  contributions: Map<string, Contribution[]>;
  zoneNotes: Map<string, { services: number; skipped: string[] }>;
}
export interface SliceEntry { slice: SliceInfo | undefined; id: string; /** "<namespace>/<service>" */ key: string; gen: number }


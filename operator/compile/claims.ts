// Who owns which name and type. Claims are made in precedence order (a zone's own records
// first, then StaticHosts and published Services oldest first), so the first claimant wins and
// a later one learns whom it lost to. A CNAME excludes every other type at its name.

import type { RecordType } from '../../dns-server/config/types.js';

export class NameClaims {
  private readonly byName = new Map<string, Map<string, string>>();

  /** The owner that blocks `owner` from claiming (name, type), or undefined when free or its own. */
  blocker(name: string, type: RecordType | 'SOA', owner: string): string | undefined {
    const types = this.byName.get(name);
    if (types === undefined) return undefined;
    for (const [t, o] of types) {
      if (o === owner) continue;
      if (t === type || t === 'CNAME' || type === 'CNAME') return o;
    }
    return undefined;
  }

  claim(name: string, type: RecordType | 'SOA', owner: string): void {
    let types = this.byName.get(name);
    if (types === undefined) this.byName.set(name, (types = new Map()));
    if (!types.has(type)) types.set(type, owner);
  }
}

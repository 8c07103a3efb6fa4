// An RFC 1035 master file (§5) read into a DNSZone: $ORIGIN, $TTL, `@`, relative names, a
// blank owner meaning "the previous one", parentheses across lines, `;` comments, TTLs with
// BIND units (1h, 2d). The SOA becomes spec.soa (its serial is dropped: splitdns numbers its
// own), apex NS records spec.nameServers, and the types a DNSZone holds become spec.records.
// Anything else is a problem with its line; nothing is silently dropped.

export interface ImportProblem {
  file: string;
  line: number;
  /** The plugin (Corefile) or record type (zone file) concerned. */
  what: string;
  /** builtin: splitdns does this itself; untranslated: not carried over; partial: carried over with a difference. */
  kind: 'builtin' | 'untranslated' | 'partial';
  message: string;
}

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown> };

const SUPPORTED = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'PTR', 'CAA', 'NS'] as const;
const MAX_RECORDS = 256;

interface Line { tokens: string[]; line: number; ownerBlank: boolean }

function logicalLines(text: string, file: string): Line[] {
  const out: Line[] = [];
  const src = text.split('\n');
  let cur: Line | null = null;
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const s = src[i].replace(/\r$/, '');
    const toks: string[] = [];
    let p = 0;
    while (p < s.length) {
      const c = s[p];
      if (c === ';') break;
      if (c === ' ' || c === '\t') { p++; continue; }
      if (c === '(') { depth++; p++; continue; }
      if (c === ')') { if (depth === 0) throw new Error(`${file}:${i + 1}: ) without (`); depth--; p++; continue; }
      if (c === '"') {
        let q = p + 1;
        let v = '';
        while (q < s.length && s[q] !== '"') { if (s[q] === '\\' && q + 1 < s.length) q++; v += s[q++]; }
        if (q >= s.length) throw new Error(`${file}:${i + 1}: unterminated quoted string`);
        toks.push('"' + v); // a leading quote marks a quoted token
        p = q + 1;
        continue;
      }
      let q = p;
      while (q < s.length && !/[\s;()"]/.test(s[q])) q++;
      toks.push(s.substring(p, q));
      p = q;
    }
    if (cur === null) {
      if (toks.length === 0) continue;
      cur = { tokens: toks, line: i + 1, ownerBlank: /^[ \t]/.test(s) };
    } else {
      cur.tokens.push(...toks);
    }
    if (depth === 0) { out.push(cur); cur = null; }
  }
  if (depth !== 0 || cur !== null) throw new Error(`${file}: ( is never closed`);
  return out;
}

/** "3600", "1h", "1h30m", "2d", "1w" → seconds, or undefined when not a TTL. */
export function parseTtl(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s);
  const m = s.toLowerCase().match(/^(\d+[smhdw])+$/);
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as Record<string, number>;
  let total = 0;
  for (const part of s.toLowerCase().match(/\d+[smhdw]/g)!) total += Number(part.slice(0, -1)) * unit[part.slice(-1)];
  return total;
}

const isClass = (t: string) => /^(IN|CH|HS|CS)$/i.test(t);

export interface ZoneImport { manifest: Manifest; problems: ImportProblem[] }

/** Kubernetes object name from a domain or host name: lower-case, dots kept, other characters dashed. */
export function objectName(s: string): string {
  const n = s.toLowerCase().replace(/\.$/, '').replace(/[^a-z0-9.-]/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return (n || 'root').slice(0, 253);
}

/** Reads a zone file for `domain` into a DNSZone manifest and the problems found. */
export function importZoneFile(text: string, domain: string, file: string): ZoneImport {
  const origin0 = domain.toLowerCase().replace(/\.?$/, '.');
  let origin = origin0;
  let defaultTtl: number | undefined;
  let lastOwner: string | undefined;
  let lastTtl: number | undefined;
  const problems: ImportProblem[] = [];
  const problem = (line: number, what: string, kind: ImportProblem['kind'], message: string) => problems.push({ file, line, what, kind, message });
  const abs = (n: string) => (n === '@' ? origin : n.endsWith('.') ? n.toLowerCase() : `${n}.${origin}`.toLowerCase());
  const spec: Record<string, unknown> = { domain: origin0.replace(/\.$/, '') };
  const nameServers: string[] = [];
  const records = new Map<string, { name: string; type: string; ttl?: number; values: unknown[] }>();
  let firstTtl: number | undefined;
  const short = (n: string) => n.replace(/\.$/, ''); // absolute names are written without the dot, as in samples/

  for (const l of logicalLines(text, file)) {
    const t = l.tokens;
    if (t[0].startsWith('$')) {
      const dir = t[0].toUpperCase();
      if (dir === '$ORIGIN') { origin = abs(t[1] ?? '@'); continue; }
      if (dir === '$TTL') { const v = parseTtl(t[1] ?? ''); if (v === undefined) problem(l.line, '$TTL', 'untranslated', `bad TTL ${t[1]}`); else defaultTtl = v; continue; }
      problem(l.line, dir, 'untranslated', `${dir} is not supported (put the included records in this file)`);
      continue;
    }
    let i = 0;
    let owner: string;
    if (l.ownerBlank) {
      if (lastOwner === undefined) { problem(l.line, 'owner', 'untranslated', 'a record without an owner name before any owner'); continue; }
      owner = lastOwner;
    } else owner = abs(t[i++]);
    lastOwner = owner;
    let ttl: number | undefined;
    for (let k = 0; k < 2 && i < t.length; k++) { // [TTL] [CLASS] or [CLASS] [TTL] (RFC 1035 §5.1)
      if (isClass(t[i])) { if (t[i].toUpperCase() !== 'IN') problem(l.line, t[i].toUpperCase(), 'untranslated', `class ${t[i]} is not served`); i++; continue; }
      const v = parseTtl(t[i]);
      if (v !== undefined && ttl === undefined) { ttl = v; i++; continue; }
      break;
    }
    const type = (t[i++] ?? '').toUpperCase();
    const rdata = t.slice(i);
    const effTtl = ttl ?? defaultTtl ?? lastTtl;
    if (ttl !== undefined) lastTtl = ttl;
    if (owner !== origin0 && !owner.endsWith('.' + origin0)) { problem(l.line, type, 'untranslated', `${short(owner)} is outside the zone ${short(origin0)}`); continue; }
    const rel = owner === origin0 ? '@' : owner.slice(0, -(origin0.length + 1));
    const str = (s: string) => (s.startsWith('"') ? s.slice(1) : s);
    if (type === 'SOA') {
      if (owner !== origin0) { problem(l.line, 'SOA', 'untranslated', 'an SOA below the apex'); continue; }
      if (rdata.length < 7) { problem(l.line, 'SOA', 'untranslated', 'SOA needs 7 fields'); continue; }
      const n = rdata.slice(2).map((x) => parseTtl(x));
      spec.soa = { mname: short(abs(rdata[0])), rname: short(abs(rdata[1])), refresh: n[1], retry: n[2], expire: n[3], minimum: n[4] };
      problem(l.line, 'SOA', 'partial', `serial ${rdata[2]} dropped: splitdns sets the serial itself (it grows with every change)`);
      if (defaultTtl === undefined && ttl !== undefined) firstTtl ??= ttl;
      continue;
    }
    if (!SUPPORTED.includes(type as never)) { problem(l.line, type || '?', 'untranslated', `record type ${type} is not one a DNSZone holds (${SUPPORTED.join(', ')})`); continue; }
    if (type === 'NS' && owner === origin0) { nameServers.push(short(abs(rdata[0]))); continue; }
    firstTtl ??= effTtl;
    let value: unknown;
    switch (type) {
      case 'A': case 'AAAA': value = rdata[0]; break;
      case 'CNAME': case 'PTR': case 'NS': value = short(abs(rdata[0])); break;
      case 'TXT':
        value = rdata.map(str).join('');
        if (rdata.length > 1) problem(l.line, 'TXT', 'partial', `${rdata.length} character-strings joined into one`);
        break;
      case 'MX': value = { preference: Number(rdata[0]), exchange: short(abs(rdata[1])) }; break;
      case 'SRV': value = { priority: Number(rdata[0]), weight: Number(rdata[1]), port: Number(rdata[2]), target: short(abs(rdata[3])) }; break;
      case 'CAA': value = { flags: Number(rdata[0]), tag: rdata[1], value: str(rdata[2] ?? '') }; break;
    }
    const key = `${rel}|${type}`;
    const rec = records.get(key);
    if (rec === undefined) records.set(key, { name: rel, type, ttl: effTtl, values: [value] });
    else {
      if (rec.ttl !== effTtl) problem(l.line, type, 'partial', `TTL ${effTtl} differs from the earlier ${rel} ${type} record's ${rec.ttl}: one TTL per name and type, the first kept`);
      if (type === 'CNAME') { problem(l.line, 'CNAME', 'untranslated', `a second CNAME for ${rel}`); continue; }
      rec.values.push(value);
    }
  }
  const ttl = defaultTtl ?? firstTtl ?? 300;
  spec.ttl = ttl;
  if (nameServers.length) spec.nameServers = nameServers;
  const field: Record<string, string> = { A: 'a', AAAA: 'aaaa', CNAME: 'cname', TXT: 'txt', MX: 'mx', SRV: 'srv', PTR: 'ptr', CAA: 'caa', NS: 'ns' };
  const list = [...records.values()].map((r) => ({
    name: r.name, type: r.type, ...(r.ttl !== undefined && r.ttl !== ttl ? { ttl: r.ttl } : {}),
    [field[r.type]]: r.type === 'CNAME' ? r.values[0] : r.values,
  }));
  if (list.length > MAX_RECORDS) problem(0, 'records', 'untranslated', `${list.length} name/type sets; a DNSZone holds ${MAX_RECORDS}: only the first ${MAX_RECORDS} kept`);
  spec.records = list.slice(0, MAX_RECORDS);
  return { manifest: { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: objectName(origin0) }, spec }, problems };
}

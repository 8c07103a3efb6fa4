// Record data in presentation form (as a zone file writes it) → the generated config's RRset
// data. One function per type, each returning the data or a message a person understands.

import type { CaaData, MxData, RecordType, SrvData } from '../../dns-server/config/types.js';
import { canonicalIp, checkDomainName, resolveRelative } from './names.js';

export type RecordData = string | string[] | MxData | SrvData | CaaData;
type ParsedValue = { ok: true; data: RecordData } | { ok: false; error: string };

const u16 = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : undefined);

/** A domain-name value: absolute (trailing dot optional), "@" for the zone's origin. */
function nameValue(v: string, origin: string): ParsedValue {
  const t = v.trim();
  const fqdn = t === '@' ? origin : resolveRelative(t.endsWith('.') ? t : t + '.', origin);
  const err = checkDomainName(fqdn);
  return err ? { ok: false, error: err } : { ok: true, data: fqdn };
}

/** Splits TXT text into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
function txtStrings(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > 255) { out.push(cur); cur = ''; bytes = 0; }
    cur += ch;
    bytes += b;
  }
  out.push(cur);
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const int = (v: unknown, max: number): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : undefined);

/** One record's data as a DNSZone writes it: a string (A, AAAA, CNAME, NS, PTR, TXT) or an object (MX, SRV, CAA). */
export function parseRecordData(type: RecordType, value: unknown, origin: string): ParsedValue {
  switch (type) {
    case 'MX': {
      if (!isObj(value)) return { ok: false, error: 'an MX record is {preference, exchange}' };
      const p = int(value.preference, 65535);
      if (p === undefined) return { ok: false, error: 'preference must be an integer from 0 to 65535' };
      const n = nameValue(String(value.exchange ?? ''), origin);
      return n.ok ? { ok: true, data: { exchange: n.data as string, preference: p } } : { ok: false, error: `exchange: ${n.error}` };
    }
    case 'SRV': {
      if (!isObj(value)) return { ok: false, error: 'an SRV record is {priority, weight, port, target}' };
      const pr = int(value.priority, 65535), w = int(value.weight, 65535), po = int(value.port, 65535);
      if (pr === undefined || w === undefined || po === undefined) return { ok: false, error: 'priority, weight and port must be integers from 0 to 65535' };
      const t = String(value.target ?? '');
      const n = t === '.' ? { ok: true as const, data: '.' } : nameValue(t, origin);
      return n.ok ? { ok: true, data: { port: po, priority: pr, target: n.data as string, weight: w } } : { ok: false, error: `target: ${n.error}` };
    }
    case 'CAA': {
      if (!isObj(value)) return { ok: false, error: 'a CAA record is {flags, tag, value}' };
      const f = int(value.flags ?? 0, 255);
      const tag = typeof value.tag === 'string' && /^[a-zA-Z0-9]{1,15}$/.test(value.tag) ? value.tag.toLowerCase() : undefined;
      const val = typeof value.value === 'string' && value.value.length <= 1024 ? value.value : undefined;
      if (f === undefined || tag === undefined || val === undefined) return { ok: false, error: 'flags (0-255), tag (1-15 letters or digits) and value (at most 1024 characters) are required' };
      return { ok: true, data: { flags: f, tag, value: val } };
    }
    default:
      if (typeof value !== 'string') return { ok: false, error: `a ${type} value is a string` };
      return parseRecordValue(type, value, origin);
  }
}

/** A record's data in presentation form (zone-file text). */
function parseRecordValue(type: RecordType, value: string, origin: string): ParsedValue {
  const v = value.trim();
  switch (type) {
    case 'A': {
      const ip = canonicalIp(v);
      return ip?.family === 4 ? { ok: true, data: ip.ip } : { ok: false, error: `${JSON.stringify(value)} is not an IPv4 address` };
    }
    case 'AAAA': {
      const ip = canonicalIp(v);
      return ip?.family === 6 ? { ok: true, data: ip.ip } : { ok: false, error: `${JSON.stringify(value)} is not an IPv6 address` };
    }
    case 'CNAME': case 'NS': case 'PTR':
      return nameValue(v, origin);
    case 'TXT':
      if (Buffer.byteLength(value) > 4000) return { ok: false, error: 'TXT value is longer than 4000 bytes' };
      return { ok: true, data: txtStrings(value) };
    case 'MX': {
      const [pref, exch, ...rest] = v.split(/\s+/);
      const p = u16(pref);
      if (p === undefined || exch === undefined || rest.length) return { ok: false, error: `MX value ${JSON.stringify(value)} is not "<preference> <exchange>"` };
      const n = nameValue(exch, origin);
      return n.ok ? { ok: true, data: { exchange: n.data as string, preference: p } } : n;
    }
    case 'SRV': {
      const [pri, w, port, target, ...rest] = v.split(/\s+/);
      const p = u16(pri), wt = u16(w), po = u16(port);
      if (p === undefined || wt === undefined || po === undefined || target === undefined || rest.length) {
        return { ok: false, error: `SRV value ${JSON.stringify(value)} is not "<priority> <weight> <port> <target>"` };
      }
      const n = target === '.' ? { ok: true as const, data: '.' } : nameValue(target, origin);
      return n.ok ? { ok: true, data: { port: po, priority: p, target: n.data as string, weight: wt } } : n;
    }
    case 'CAA': {
      const m = /^(\d{1,3})\s+([a-zA-Z0-9]{1,15})\s+(?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(v);
      if (!m || Number(m[1]) > 255) return { ok: false, error: `CAA value ${JSON.stringify(value)} is not '<flags> <tag> "<value>"'` };
      const val = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4];
      if (val.length > 1024) return { ok: false, error: 'CAA value is longer than 1024 characters' };
      return { ok: true, data: { flags: Number(m[1]), tag: m[2].toLowerCase(), value: val } };
    }
  }
}

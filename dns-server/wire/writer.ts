// A small DNS message writer with name compression (RFC 1035 §4.1.4), used at reload time to
// prepare response bytes, and on slow paths. Compression targets are the names already
// written; RDATA names are compressed only for the types RFC 3597 §4 allows (NS, CNAME, PTR,
// MX, SOA); SRV targets are never compressed (RFC 2782).

import { writeAddress } from '../config/address.js';
import { TYPE } from './constants.js';

export class WireWriter {
  buf: Buffer;
  len = 0;
  /** dotted-lower-case name suffix → offset where it was written. */
  private readonly names = new Map<string, number>();

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Empties the writer for reuse (reload-time preparation writes many messages with one writer). */
  reset(): void {
    this.len = 0;
    this.names.clear();
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void { this.ensure(1); this.buf[this.len++] = v & 0xff; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.len); this.len += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.len); this.len += 4; }
  bytes(b: Buffer | Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }

  /** Records that the name `dotted` (absolute, lower-case) starts at `offset`, for later compression. */
  remember(dotted: string, offset: number): void {
    if (offset < 0x3fff && !this.names.has(dotted)) this.names.set(dotted, offset);
  }

  /**
   * Writes an absolute dotted name, compressed against earlier names when `compress`. Names
   * here come from validated config (lower-case ASCII) or are lower-cased first.
   */
  name(dotted: string, compress = true): void {
    let n = dotted;
    if (n === '.' || n === '') { this.u8(0); return; }
    if (!n.endsWith('.')) n += '.';
    if (/[A-Z]/.test(n)) n = n.toLowerCase();
    let start = 0;
    while (start < n.length) {
      const suffix = start === 0 ? n : n.substring(start);
      if (compress) {
        const at = this.names.get(suffix);
        if (at !== undefined) { this.u16(0xc000 | at); return; }
      }
      const dot = n.indexOf('.', start);
      const len = dot - start;
      if (len < 1 || len > 63) throw new Error(`bad label in name ${JSON.stringify(dotted)}`);
      this.remember(suffix, this.len);
      this.ensure(len + 1);
      this.buf[this.len++] = len;
      this.len += this.buf.write(n.substring(start, dot), this.len, len, "latin1");
      start = dot + 1;
    }
    this.u8(0);
  }

  /** Starts a resource record; returns the offset of its RDLENGTH field for endRecord(). */
  beginRecord(owner: string | number, type: number, ttl: number, klass = 1): number {
    if (typeof owner === 'number') this.u16(0xc000 | owner);
    else this.name(owner);
    this.u16(type);
    this.u16(klass);
    this.u32(ttl);
    const at = this.len;
    this.u16(0);
    return at;
  }

  endRecord(rdlenAt: number): void {
    this.buf.writeUInt16BE(this.len - rdlenAt - 2, rdlenAt);
  }

  /** RDATA of one record of the config's types (see config/types.ts for the data shapes). */
  rdata(type: number, data: unknown): void {
    switch (type) {
      case TYPE.A: case TYPE.AAAA: {
        const n = type === TYPE.A ? 4 : 16;
        this.ensure(n);
        this.len = writeAddress(this.buf, this.len, n === 4 ? 4 : 6, String(data));
        return;
      }
      case TYPE.CNAME: case TYPE.NS: case TYPE.PTR: this.name(data as string); return;
      case TYPE.MX: { const d = data as { preference: number; exchange: string }; this.u16(d.preference); this.name(d.exchange); return; }
      case TYPE.SRV: {
        const d = data as { priority: number; weight: number; port: number; target: string };
        this.u16(d.priority); this.u16(d.weight); this.u16(d.port); this.name(d.target, false); return;
      }
      case TYPE.TXT: {
        for (const s of data as string[]) {
          const b = Buffer.from(s, 'utf8');
          if (b.length > 255) throw new Error('TXT character-string over 255 bytes');
          this.u8(b.length); this.bytes(b);
        }
        return;
      }
      case TYPE.SOA: {
        const d = data as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
        this.name(d.mname); this.name(d.rname);
        this.u32(d.serial); this.u32(d.refresh); this.u32(d.retry); this.u32(d.expire); this.u32(d.minimum); return;
      }
      case TYPE.CAA: {
        const d = data as { flags: number; tag: string; value: string };
        const tag = Buffer.from(d.tag, 'latin1');
        this.u8(d.flags); this.u8(tag.length); this.bytes(tag); this.bytes(Buffer.from(d.value, 'utf8')); return;
      }
      default: throw new Error(`no RDATA writer for type ${type}`);
    }
  }

  /** A copy of what was written. */
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

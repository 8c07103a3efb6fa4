// DNS numbers used across the server (RFC 1035, RFC 6895 registries).

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, CAA: 257, ANY: 255, IXFR: 251, AXFR: 252,
} as const;

export const RR_TYPE_BY_NAME: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, CAA: 257,
};

export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** BADVERS is an extended rcode (16): low 4 bits 0 in the header, upper 8 bits 1 in the OPT TTL (RFC 6891 §6.1.3). */
export const EXT_RCODE_BADVERS = 16;

export const FLAG_QR = 0x80; // byte 2
export const FLAG_AA = 0x04; // byte 2
export const FLAG_TC = 0x02; // byte 2

/** Fixed label set for metrics: the query types we count by name; everything else is "other". */
export const COUNTED_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'CAA', 'ANY'] as const;
export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'other'] as const;

/**
 * FNV-1a (32 bits): the hash of a name's lookup key, over its bytes (tables/slab.ts hashKey, its
 * slabs' index) and as the question is parsed (wire/query.ts nameHash, lookup.ts recall): one
 * definition, so the two always agree.
 */
export const FNV_BASIS = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

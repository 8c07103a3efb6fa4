// What the informers keep of each object (issue 16: memory at 10,000 Services / 100,000
// endpoints). As CoreDNS's kubernetes plugin does, objects are cut down at the informer
// boundary to what compile() reads (operator/compile: meta.ts readMeta, cluster-services.ts
// parseService/parseSlice, domains.ts for Namespaces) and what the status writer reads of the
// custom resources (metadata, status). Dropped everywhere: managedFields and every annotation
// but splitdns.io/* and ExternalDNS's hostname on core objects. A test compiles the stripped and the full objects and
// compares (test/operator/controller/strip.test.ts); a field compile starts reading must be
// added here too.

type Raw = Record<string, any>;

const isObj = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Copies the listed keys that are present. */
function pick(o: unknown, keys: readonly string[]): Raw {
  const out: Raw = {};
  if (!isObj(o)) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const META = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'labels'] as const;

/** ExternalDNS's hostname annotation: compile reads it when --external-dns-annotation is on. */
const EXTERNAL_DNS_HOSTNAME = 'external-dns.alpha.kubernetes.io/hostname';

/** Metadata compile reads; annotations only ours (splitdns.io/...) and ExternalDNS's hostname. */
function meta(m: unknown, labels: 'all' | readonly string[] = 'all'): Raw {
  const out = pick(m, META);
  if (labels !== 'all' && isObj(out.labels)) out.labels = pick(out.labels, labels);
  if (isObj(m) && isObj(m.annotations)) {
    const ours = Object.entries(m.annotations).filter(([k]) => k.startsWith('splitdns.io/') || k === EXTERNAL_DNS_HOSTNAME);
    if (ours.length) out.annotations = Object.fromEntries(ours);
  }
  return out;
}

const ports = (v: unknown) => (Array.isArray(v) ? v.map((p) => pick(p, ['name', 'port', 'protocol'])) : v);

export function stripService(o: Raw): Raw {
  const spec = pick(o.spec, ['type', 'clusterIP', 'clusterIPs', 'externalName', 'publishNotReadyAddresses']);
  if (isObj(o.spec) && o.spec.ports !== undefined) spec.ports = ports(o.spec.ports);
  const out: Raw = { metadata: meta(o.metadata), spec };
  const ingress = o.status?.loadBalancer?.ingress;
  if (Array.isArray(ingress) && ingress.length) out.status = { loadBalancer: { ingress: ingress.map((i) => pick(i, ['ip'])) } };
  return out;
}

/** The two conditions nearly every endpoint has, shared (100,000 endpoints: 100,000 objects fewer); frozen, as compile only reads them. */
const READY = Object.freeze({ ready: true });
const NOT_READY = Object.freeze({ ready: false });

/**
 * An endpoint as compile reads it: addresses, conditions.ready, hostname. One literal, the same
 * three fields (undefined where absent: compile and JSON read them as absent) for every
 * endpoint: one object shape, its fields in the object itself, rather than an object grown key
 * by key into a few shapes.
 */
function stripEndpoint(e: unknown): Raw {
  if (!isObj(e)) return {};
  const r = isObj(e.conditions) ? e.conditions.ready : undefined;
  const conditions = r === true ? READY : r === false ? NOT_READY : r === undefined ? undefined : { ready: r };
  return { addresses: e.addresses, conditions, hostname: e.hostname };
}

export function stripEndpointSlice(o: Raw): Raw {
  const out: Raw = { metadata: meta(o.metadata, ['kubernetes.io/service-name']), addressType: o.addressType };
  if (o.ports !== undefined) out.ports = ports(o.ports);
  if (Array.isArray(o.endpoints)) out.endpoints = o.endpoints.map(stripEndpoint);
  else if (o.endpoints !== undefined) out.endpoints = o.endpoints;
  return out;
}

export function stripNamespace(o: Raw): Raw {
  return { metadata: meta(o.metadata) };
}

/** Custom resources: whole, less managedFields (the status writer reads status and metadata). */
export function stripCustomResource(o: Raw): Raw {
  if (!isObj(o.metadata) || o.metadata.managedFields === undefined) return o;
  const { managedFields: _m, ...metadata } = o.metadata;
  return { ...o, metadata };
}

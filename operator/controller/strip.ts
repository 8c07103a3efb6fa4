// What the informers keep of each object (issue 16: memory at 10,000 Services / 100,000
// endpoints). As CoreDNS's kubernetes plugin does, objects are cut down at the informer
// boundary to what compile() reads (operator/compile: meta.ts readMeta, cluster-services.ts
// parseService/parseSlice, domains.ts for Namespaces) and what the status writer reads of the
// custom resources (metadata, status). Dropped everywhere: managedFields and every annotation
// but splitdns.io/* and ExternalDNS's hostname on core objects. A test compiles the stripped and the full objects and
// compares (test/operator/controller/strip.test.ts); a field compile starts reading must be
// added here too.

type Raw = Record<string, any>;

// One object shape per kind (operator/compile/README.md "Shapes"): every stripped object of a
// kind is one literal with the same keys in the same order, `undefined` where the API object has
// nothing (JSON, the informer's fingerprint and compile read that as absent), and its lists are
// built by push. compile's functions then see one hidden class per kind, not one per set of
// fields present, and stay optimised.

const isObj = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `xs.map(f)` by push: a packed array whichever tier runs it (operator/compile/lists.ts), copied
 * at its length (slice(), packed too): the informer keeps it, and push leaves up to 16 spare
 * slots (a one-port list 144 bytes of heap against 24; 20,000 of them at 10,000 Services).
 */
function each(xs: readonly unknown[], f: (x: unknown) => Raw): Raw[] {
  const out: Raw[] = [];
  for (const x of xs) out.push(f(x));
  return out.slice();
}

/** ExternalDNS's hostname annotation: compile reads it when --external-dns-annotation is on. */
const EXTERNAL_DNS_HOSTNAME = 'external-dns.alpha.kubernetes.io/hostname';
/** The one label compile reads of an EndpointSlice. */
const SERVICE_NAME = 'kubernetes.io/service-name';

/** Our annotations (splitdns.io/...) and ExternalDNS's hostname; undefined when there are none. */
function ourAnnotations(a: unknown): Raw | undefined {
  if (!isObj(a)) return undefined;
  let out: Raw | undefined;
  for (const k of Object.keys(a)) if (a[k] !== undefined && (k.startsWith('splitdns.io/') || k === EXTERNAL_DNS_HOSTNAME)) (out ??= {})[k] = a[k];
  return out;
}

/** Metadata compile reads: one shape; labels all of them, or (`sliceLabels`) only the Service name's. */
function meta(m: unknown, sliceLabels = false): Raw {
  const o: Raw = isObj(m) ? m : {};
  const labels = sliceLabels && isObj(o.labels) ? (o.labels[SERVICE_NAME] !== undefined ? { [SERVICE_NAME]: o.labels[SERVICE_NAME] } : {}) : o.labels;
  return {
    name: o.name, namespace: o.namespace, uid: o.uid, resourceVersion: o.resourceVersion, generation: o.generation,
    creationTimestamp: o.creationTimestamp, labels, annotations: ourAnnotations(o.annotations),
  };
}

const port = (p: unknown): Raw => (isObj(p) ? { name: p.name, port: p.port, protocol: p.protocol } : { name: undefined, port: undefined, protocol: undefined });
const ports = (v: unknown) => (Array.isArray(v) ? each(v, port) : v);

export function stripService(o: Raw): Raw {
  const sp: Raw = isObj(o.spec) ? o.spec : {};
  const spec = {
    type: sp.type, clusterIP: sp.clusterIP, clusterIPs: sp.clusterIPs, externalName: sp.externalName, publishNotReadyAddresses: sp.publishNotReadyAddresses,
    ports: ports(sp.ports),
  };
  const ingress = o.status?.loadBalancer?.ingress;
  const status = Array.isArray(ingress) && ingress.length ? { loadBalancer: { ingress: each(ingress, (i) => ({ ip: isObj(i) ? i.ip : undefined })) } } : undefined;
  return { metadata: meta(o.metadata), spec, status };
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
  if (!isObj(e)) return { addresses: undefined, conditions: undefined, hostname: undefined };
  const r = isObj(e.conditions) ? e.conditions.ready : undefined;
  const conditions = r === true ? READY : r === false ? NOT_READY : r === undefined ? undefined : { ready: r };
  return { addresses: e.addresses, conditions, hostname: e.hostname };
}

export function stripEndpointSlice(o: Raw): Raw {
  return {
    metadata: meta(o.metadata, true), addressType: o.addressType, ports: ports(o.ports),
    endpoints: Array.isArray(o.endpoints) ? each(o.endpoints, stripEndpoint) : o.endpoints,
  };
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

// CRD variants for tests.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { findCrdDir } from '../../operator/local/crd-schemas.js';

/** DNSForwarder's CRD with the cache rule as it was before the fix. */
export function forwarderCrdWithUnguardedRule(): Record<string, any> {
  const crd = parse(readFileSync(`${findCrdDir()}dnsforwarder.yaml`, 'utf8'));
  const cache = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.cache;
  cache['x-kubernetes-validations'] = [{ rule: 'self.minTTL <= self.maxTTL', message: 'cache.minTTL must not be above cache.maxTTL' }];
  return crd;
}


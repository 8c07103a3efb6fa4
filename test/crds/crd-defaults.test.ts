// The check the API server makes when a CRD is installed: every schema `default` must pass the
// CEL rules of its node, evaluated on the default as written (nested defaults not filled in).
// Bug 1 (issue 9): DNSForwarder's cache default {} failed `self.minTTL <= self.maxTTL`.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { checkCrdDefaults, findCrdDir } from '../../operator/local/crd-schemas.js';
import { buildManifestSet } from '../../operator/local/manifests.js';
import { forwarderCrdWithUnguardedRule } from './fixtures.js';

const dir = findCrdDir();

describe('CRDs: schema defaults against CEL rules (what the API server checks at install)', () => {
  for (const f of ['dnszone.yaml', 'dnsforwarder.yaml', 'statichost.yaml']) {
    it(`${f}: every default passes its rules`, () => {
      expect(checkCrdDefaults(parse(readFileSync(dir + f, 'utf8')))).to.deep.equal([]);
    });
  }

  it('finds a default that fails a rule, with the path and words of the API server', () => {
    expect(checkCrdDefaults(forwarderCrdWithUnguardedRule())).to.deep.equal([
      'spec.validation.openAPIV3Schema.properties[spec].properties[cache].default: Invalid value: "object": no such key: minTTL evaluating rule: cache.minTTL must not be above cache.maxTTL',
    ]);
  });

  it('finds a default that evaluates to false', () => {
    const crd = forwarderCrdWithUnguardedRule();
    const cache = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.cache;
    cache.default = { minTTL: 10, maxTTL: 5 };
    expect(checkCrdDefaults(crd)).to.deep.equal([
      'spec.validation.openAPIV3Schema.properties[spec].properties[cache].default: Invalid value: "object": cache.minTTL must not be above cache.maxTTL',
    ]);
  });

  it('splitdns validate reports a CRD manifest whose default fails a rule', () => {
    const set = buildManifestSet(new Map([['/x/crd.yaml', [forwarderCrdWithUnguardedRule()]]]), new Map(), '/x');
    expect(set.problems.map((p) => `${p.file} ${p.ref}: ${p.message.split(':')[0]}`)).to.deep.equal([
      'crd.yaml CustomResourceDefinition/dnsforwarders.splitdns.io: spec.validation.openAPIV3Schema.properties[spec].properties[cache].default',
    ]);
  });
});

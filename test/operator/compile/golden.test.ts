// Golden output: compiling samples/ gives the checked-in golden/samples.json, byte for byte.
// After an intended change, regenerate it and review the diff:
//   UPDATE_GOLDEN=1 npx mocha test/operator/compile/golden.test.ts
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from '../../../operator/compile/index.js';
import { validateBundle } from '../../../dns-server/config/index.js';
import { loadCrdValidators } from '../../../operator/local/crd-schemas.js';
import { readManifests } from '../../../operator/local/manifests.js';

const samples = fileURLToPath(new URL('../../../samples/', import.meta.url));
const golden = fileURLToPath(new URL('./golden/samples.json', import.meta.url));

describe('compile: golden output of samples/', () => {
  const set = readManifests([samples], loadCrdValidators());
  const result = compile(set.snapshot, { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' });
  const text = JSON.stringify(result, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);

  it('reads every sample without a problem', () => expect(set.problems).to.deep.equal([]));

  it('accepts every sample resource', () => {
    const refused = result.resources.filter((r) => r.status.conditions.some((c) => c.type === 'Accepted' && c.status !== 'True'));
    expect(refused).to.deep.equal([]);
  });

  it('gives shards the DNS server accepts', () => expect(validateBundle(result.bundle).refused).to.deep.equal([]));

  it('matches golden/samples.json', () => {
    expect(text).to.equal(readFileSync(golden, 'utf8'));
  });
});

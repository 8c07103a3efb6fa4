// `serve` takes files as well as folders: names from a single file and from a directory are
// served together, and an edit of the single file is applied.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import { zoneManifest } from '../cli/manifests.js';

async function answer(r: Resolver, name: string): Promise<string> {
  try { return (await r.resolve4(name)).sort().join(','); } catch (err) { return (err as { code?: string }).code ?? String(err); }
}

describe('local mode: serve files and folders', () => {
  it('serves a file and a directory together and applies an edit of the file', async function () {
    this.timeout(30000);
    const root = mkdtempSync(join(tmpdir(), 'splitdns-paths-'));
    const file = join(root, 'zone.yaml');
    const dir = join(root, 'hosts');
    mkdirSync(dir);
    writeFileSync(file, zoneManifest('192.0.2.1'));
    writeFileSync(join(root, 'ignored.yaml'), zoneManifest('192.0.2.99').replace('example.org', 'example.com').replace('name: example', 'name: ignored'));
    writeFileSync(join(dir, 'h.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: StaticHost\nmetadata: {name: h, namespace: splitdns}\nspec: {hostnames: [h.example.net], addresses: [10.0.0.7]}\n');
    const local = await startLocalServer({ manifests: [file, dir], port: 0, logger: pino({ level: 'silent' }), forward: false, debounceMs: 30 });
    try {
      await local.watching;
      const r = new Resolver({ timeout: 500, tries: 2 });
      r.setServers([`127.0.0.1:${local.dns.port}`]);
      expect(await answer(r, 'www.example.org')).to.equal('192.0.2.1');
      expect(await answer(r, 'h.example.net')).to.equal('10.0.0.7');
      expect(await answer(r, 'www.example.com')).to.not.equal('192.0.2.99'); // a file beside, not named
      writeFileSync(file, zoneManifest('192.0.2.2'));
      const t0 = Date.now();
      while ((await answer(r, 'www.example.org')) !== '192.0.2.2') {
        if (Date.now() - t0 > 10000) throw new Error('the edit of the file was not applied');
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await local.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

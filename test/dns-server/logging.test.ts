// Logs: readable lines on a terminal, JSON otherwise or when asked (--log-format); query
// logging on demand (--log-queries, SIGUSR2, POST /log-queries) with client, name, type,
// rcode, duration and shard, and nothing logged per query when it is off.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { DnsServer } from '../../dns-server/index.js';
import { createLogger, formatPrettyLine } from '../../dns-server/logging.js';
import { parseOptions } from '../../operator/controller/options.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { rcodeOf, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A writable that collects what is written, optionally claiming to be a TTY. */
function sink(tty: boolean): Writable & { text: () => string; isTTY?: boolean } {
  let text = '';
  const w = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } }) as Writable & { text: () => string; isTTY?: boolean };
  w.text = () => text;
  if (tty) w.isTTY = true;
  return w;
}


describe('logging', () => {
  it('writes readable lines on a TTY: time, level, component, message, key fields', () => {
    const out = sink(true);
    const log = createLogger({ destination: out, color: false }).child({ component: 'local' });
    log.info({ applied: 3, file: 'samples/corp zone.yaml' }, 'configuration applied');
    expect(out.text()).to.match(/^\d\d:\d\d:\d\d\.\d{3} INFO  local: configuration applied {2}applied=3 file="samples\/corp zone.yaml"\n$/);
  });

  it('writes JSON when the destination is not a TTY, and when --log-format json is asked on a TTY', () => {
    for (const [out, format] of [[sink(false), 'auto'], [sink(true), 'json']] as const) {
      createLogger({ destination: out, format }).child({ component: 'dns-server' }).warn({ shard: 'zone/example.org' }, 'x');
      const o = JSON.parse(out.text());
      expect(o).to.include({ level: 40, component: 'dns-server', shard: 'zone/example.org', msg: 'x' });
    }
  });

  it('writes readable lines off a TTY with --log-format pretty, with the error on the next line', () => {
    const out = sink(false);
    createLogger({ destination: out, format: 'pretty' }).error({ err: new Error('boom') }, 'reload failed');
    expect(out.text()).to.match(/ERROR reload failed\n {4}Error: boom\n/);
    expect(formatPrettyLine('not json')).to.equal('not json\n');
  });

  it('the operator takes --log-format (and SPLITDNS_LOG_FORMAT) and refuses a bad one', () => {
    expect(parseOptions(['--log-format', 'json'], {}).logFormat).to.equal('json');
    expect(parseOptions([], { SPLITDNS_LOG_FORMAT: 'pretty' }).logFormat).to.equal('pretty');
    expect(parseOptions([], {}).logFormat).to.equal('auto');
    expect(() => parseOptions(['--log-format', 'xml'], {})).to.throw(/--log-format must be one of auto, pretty, json, not "xml"/);
  });
});

describe('query logging', () => {
  let server: DnsServer;
  let out: ReturnType<typeof sink>;
  const queryLines = () => out.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.msg === 'query');

  beforeEach(async () => {
    out = sink(false);
    server = await startTestServer(bundle(exampleZone()), { httpPort: 0, logger: createLogger({ destination: out, format: 'json' }) });
  });
  afterEach(() => server.close());

  it('logs nothing per query by default', async () => {
    await udpQuery(server.port, { name: 'www.example.org', type: 'A' });
    expect(server.queryLogging).to.equal(false);
    expect(queryLines()).to.deep.equal([]);
  });

  it('logs client, name, type, rcode, duration and shard once turned on through POST /log-queries, and stops when turned off', async () => {
    const on = await fetch(`http://127.0.0.1:${server.httpPort}/log-queries?on=1`, { method: 'POST' });
    expect(on.status).to.equal(200);
    await udpQuery(server.port, { name: 'www.example.org', type: 'A' });
    await tcpQuery(server.port, { name: 'nope.example.org', type: 'AAAA' });
    await udpQuery(server.port, { name: 'elsewhere.test', type: 'TXT' });
    const lines = queryLines();
    expect(lines).to.have.length(3);
    expect(lines[0]).to.include({ component: 'query', client: '127.0.0.1', proto: 'udp', name: 'www.example.org.', type: 'A', rcode: 'NOERROR', shard: 'zone/example.org', level: 30 });
    expect(lines[0].ms).to.be.a('number');
    expect(lines[1]).to.include({ proto: 'tcp', name: 'nope.example.org.', type: 'AAAA', rcode: 'NXDOMAIN', shard: 'zone/example.org' });
    expect(lines[2]).to.include({ name: 'elsewhere.test.', type: 'TXT', rcode: 'REFUSED', shard: 'none' });
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/log-queries?on=0`, { method: 'POST' })).status).to.equal(200);
    await udpQuery(server.port, { name: 'www.example.org', type: 'A' });
    expect(queryLines()).to.have.length(3);
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/log-queries?on=maybe`, { method: 'POST' })).status).to.equal(400);
  });

  it('the standalone DNS server: --log-format pretty off a TTY, and SIGUSR2 toggles query logging', async function () {
    this.timeout(60000);
    const dir = mkdtempSync(join(tmpdir(), 'splitdns-log-'));
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify(bundle(exampleZone())));
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'dns-server/main.ts'), '--config', join(dir, 'bundle.json'), '--port', '0', '--http-port', '0', '--log-format', 'pretty', '--no-forward'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout!.on('data', (c) => { text += String(c); });
      child.stderr!.on('data', (c) => { text += String(c); });
      const listening = await until('the listening line', () => /INFO {2}dns-server: dns server listening {2}address=127\.0\.0\.1 port=(\d+)/.exec(text), 15000);
      const port = Number(listening![1]);
      // Until the configuration is loaded (SERVFAIL before).
      await until('the configuration loaded', async () => rcodeOf((await udpQuery(port, { name: 'www.example.org', type: 'A' })).raw) === 0, 15000);
      expect(text).to.not.match(/query: query/);
      child.kill('SIGUSR2');
      await until('query logging on', () => text.includes('query logging on'), 15000);
      await udpQuery(port, { name: 'www.example.org', type: 'A' });
      const line = await until('a query line', () => /INFO {2}query: query {2}(.*)/.exec(text), 15000);
      expect(line![1]).to.match(/client=127\.0\.0\.1 proto=udp name=www\.example\.org\. type=A shard=zone\/example\.org rcode=NOERROR ms=[\d.]+/);
    } finally {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

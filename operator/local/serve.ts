// Local mode: the operator's pipeline without a cluster. Manifests from a directory → compile
// → an in-process DNS server; the directory is watched, and a change recompiles (debounced)
// and hot-reloads only the shards whose hash moved. Files are re-read only when their size or
// mtime changed, so the compiler's memoisation sees the other objects unchanged.

import { watch, statSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createForwarder, startDnsServer } from '../../dns-server/index.js';
import type { DnsServer, ReloadReport } from '../../dns-server/index.js';
import { createCompiler } from '../compile/index.js';
import type { CompileResult } from '../compile/index.js';
import { loadCrdValidators } from './crd-schemas.js';
import { buildManifestSet, listManifestFiles, parseManifestFile } from './manifests.js';
import type { ManifestProblem } from './manifests.js';

export interface LocalServeOptions {
  manifests: string;
  port: number;
  address?: string;
  httpPort?: number | null;
  logger: Logger;
  registry?: Registry;
  clusterDomain?: string;
  operatorNamespace?: string;
  /** The cluster's Service and Pod CIDRs whose reverse names are served authoritatively (defaults 10.96.0.0/12, 10.244.0.0/16). */
  serviceCIDRs?: readonly string[];
  podCIDRs?: readonly string[];
  debounceMs?: number;
  /** Forward names no local data covers (the DNSForwarder resources); default true. */
  forward?: boolean;
}

export interface LocalRun {
  result: CompileResult;
  problems: ManifestProblem[];
  report: ReloadReport;
}

export interface LocalServer {
  readonly dns: DnsServer;
  /** The last run (compile result, manifest problems, reload report). */
  readonly last: LocalRun;
  /** Re-reads and applies now (the watcher calls this, debounced). */
  reload(): LocalRun;
  close(): Promise<void>;
}

export async function startLocalServer(opts: LocalServeOptions): Promise<LocalServer> {
  const log = opts.logger.child({ component: 'local' });
  const dir = resolve(opts.manifests);
  if (!statSync(dir).isDirectory()) throw new Error(`${opts.manifests} is not a directory`);
  const validators = loadCrdValidators();
  const compiler = createCompiler({ clusterDomain: opts.clusterDomain ?? 'cluster.local', operatorNamespace: opts.operatorNamespace ?? 'splitdns', now: new Date(), serviceCIDRs: opts.serviceCIDRs, podCIDRs: opts.podCIDRs });
  const registry = opts.registry ?? new Registry();
  const fallback = opts.forward === false ? undefined : createForwarder({ logger: opts.logger, registry });
  const dns = await startDnsServer({ address: opts.address, port: opts.port, httpPort: opts.httpPort, logger: opts.logger, registry, fallback });

  const files = new Map<string, { stamp: string; content: Record<string, unknown>[] | Error }>();
  const reportedProblems = new Set<string>();
  const run = (): LocalRun => {
    let paths: string[] = [];
    try { paths = listManifestFiles([dir]); } catch (err) { log.error({ err, dir }, 'cannot list manifests'); }
    const live = new Set(paths);
    for (const f of [...files.keys()]) if (!live.has(f)) files.delete(f);
    for (const f of paths) {
      let stamp: string;
      try { const st = statSync(f); stamp = `${st.size}:${st.mtimeMs}`; } catch { files.delete(f); continue; }
      const prev = files.get(f);
      if (prev && prev.stamp === stamp) continue;
      let content: Record<string, unknown>[] | Error;
      try { content = parseManifestFile(f); } catch (err) { content = new Error(`cannot parse: ${(err as Error).message}`); }
      files.set(f, { stamp, content });
    }
    const set = buildManifestSet(new Map([...files].map(([f, v]) => [f, v.content])), validators, process.cwd());
    const result = compiler.compile(set.snapshot, new Date());
    const report = dns.applyBundle(result.bundle);
    const now = new Set<string>();
    for (const p of set.problems) {
      const line = `${p.file}${p.ref ? ':' + p.ref : ''}: ${p.message}`;
      now.add(line);
      if (!reportedProblems.has(line)) log.error({ file: p.file, resource: p.ref, problem: p.message }, 'bad manifest left out');
    }
    for (const r of result.resources) {
      const acc = r.status.conditions.find((c) => c.type === 'Accepted');
      if (acc?.status === 'False') {
        const line = `${r.kind}/${r.namespace ? r.namespace + '/' : ''}${r.name}: ${acc.reason}: ${acc.message}`;
        now.add(line);
        if (!reportedProblems.has(line)) log.warn({ resource: `${r.kind}/${r.namespace ?? ''}/${r.name}`, reason: acc.reason, problem: acc.message }, 'resource not accepted');
      }
    }
    reportedProblems.clear();
    for (const l of now) reportedProblems.add(l);
    for (const r of report.refused) log.error({ shard: r.id, errors: r.errors }, 'generated shard refused by the DNS server');
    log.info({ applied: report.applied.length, unchanged: report.unchanged.length, removed: report.removed.length, problems: set.problems.length }, 'configuration applied');
    return { result, problems: set.problems, report };
  };

  let last = run();
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => { timer = undefined; try { last = run(); } catch (err) { log.error({ err }, 'reload failed; the last configuration keeps serving'); } }, opts.debounceMs ?? 100);
  };
  try {
    watcher = watch(dir, { recursive: true }, schedule);
  } catch {
    watcher = watch(dir, schedule); // platforms without recursive watching: the top directory only
  }
  watcher.on('error', (err) => log.error({ err }, 'watching the manifests failed'));
  return {
    dns,
    get last() { return last; },
    reload() { last = run(); return last; },
    async close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
      await dns.close();
    },
  };
}

// Local mode: the operator's pipeline without a cluster. Manifests from files and directories
// → compile → an in-process DNS server; the paths are watched (watch.ts), and a change
// recompiles (debounced) and hot-reloads only the shards whose hash moved. Files are re-read
// only when their stat (size, mtime, ctime, inode) changed, so the compiler's memoisation sees
// the other objects unchanged.
//
// A broken edit does what a refused `kubectl apply` does in a cluster: the file's last good
// objects keep serving. A file is broken when it cannot be parsed or when one of its objects
// fails the CRD's schema or CEL rules; then its last good version (if it had one) stays in
// the configuration, and the log says what is wrong and that the last good version is served.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createForwarder, startDnsServer, withDefaultUpstream } from '../../dns-server/index.js';
import type { DnsServer, ReloadReport } from '../../dns-server/index.js';
import { createCompiler } from '../compile/index.js';
import type { CompileResult } from '../compile/index.js';
import { loadCrdValidators } from './crd-schemas.js';
import type { CrdValidator } from './crd-schemas.js';
import { buildManifestSet, checkPaths, listManifestFiles, parseManifestFile, problemText, rejectedResources } from './manifests.js';
import type { ManifestProblem } from './manifests.js';
import { watchManifests } from './watch.js';
import type { ManifestWatcher } from './watch.js';

export interface LocalServeOptions {
  /** Files and directories of manifests. */
  manifests: string | string[];
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
  /** Honour ExternalDNS's hostname annotation on Services (compile option). */
  externalDnsHostnameAnnotation?: boolean;
  debounceMs?: number;
  /** Rescan interval in ms (the fallback when file events are missed); 0 = events only. */
  rescanMs?: number;
  /** Poll the files instead of using file system events. */
  poll?: boolean;
  /** Forward names no local data covers (the DNSForwarder resources); default true. */
  forward?: boolean;
  /**
   * Forward names no DNSForwarder covers to the nameservers of this resolv.conf (with loop
   * probes). Off by default in local mode: a developer's server on loopback should answer for
   * the manifests, not become the laptop's resolver (see README "Replacing CoreDNS").
   */
  defaultUpstream?: { resolvConf?: string; port?: number };
  logQueries?: boolean;
}

export interface LocalRun {
  result: CompileResult;
  /** Problems of this run; those with `kept` name a file whose last good version is served. */
  problems: ManifestProblem[];
  report: ReloadReport;
}

export interface LocalServer {
  readonly dns: DnsServer;
  /** The last run (compile result, manifest problems, reload report). */
  readonly last: LocalRun;
  /** Resolves once the watcher sees events. */
  readonly watching: Promise<void>;
  /** Re-reads and applies now (the watcher calls this, debounced). */
  reload(): LocalRun;
  close(): Promise<void>;
}

type Objects = Record<string, unknown>[];
interface FileState { stamp: string; content: Objects | Error; problems: ManifestProblem[]; good?: Objects }

function stampOf(file: string): string {
  const st = statSync(file, { bigint: true });
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/** The validators with each object's result kept (by identity): a validation defaults the object in place, so a second one only repeats the first. */
function onceEach(validators: Map<string, CrdValidator & { scope: string }>): Map<string, CrdValidator & { scope: string }> {
  const results = new WeakMap<object, string[]>();
  const out = new Map<string, CrdValidator & { scope: string }>();
  for (const [kind, v] of validators) {
    out.set(kind, {
      get scope() { return v.scope; },
      validate(obj) {
        let r = results.get(obj);
        if (r === undefined) results.set(obj, (r = v.validate(obj)));
        return r;
      },
    });
  }
  return out;
}

export async function startLocalServer(opts: LocalServeOptions): Promise<LocalServer> {
  const log = opts.logger.child({ component: 'local' });
  const paths = (Array.isArray(opts.manifests) ? opts.manifests : [opts.manifests]).map((p) => resolve(p));
  checkPaths(paths);
  // Each object is validated once: a run builds the set of a changed file alone and then the
  // whole set, and an unchanged file keeps its objects (the same objects) from run to run.
  const validators = onceEach(loadCrdValidators());
  const compiler = createCompiler({ clusterDomain: opts.clusterDomain ?? 'cluster.local', operatorNamespace: opts.operatorNamespace ?? 'splitdns', serviceCIDRs: opts.serviceCIDRs, podCIDRs: opts.podCIDRs, externalDnsHostnameAnnotation: opts.externalDnsHostnameAnnotation });
  const registry = opts.registry ?? new Registry();
  const forwarder = opts.forward === false ? undefined : createForwarder({ logger: opts.logger, registry });
  const defaultUpstream = forwarder && opts.defaultUpstream ? withDefaultUpstream(forwarder, { logger: opts.logger, ...opts.defaultUpstream }) : undefined;
  const dns = await startDnsServer({ address: opts.address, port: opts.port, httpPort: opts.httpPort, logger: opts.logger, registry, fallback: defaultUpstream ?? forwarder, logQueries: opts.logQueries });

  const files = new Map<string, FileState>();
  const reportedProblems = new Set<string>();
  const list = (): string[] => {
    try { return listManifestFiles(paths.filter((p) => { try { statSync(p); return true; } catch { return false; } })); } catch (err) { log.error({ err }, 'cannot list manifests'); return [...files.keys()]; }
  };
  /** True when a file appeared, went away or its stat moved since the last run. */
  const changed = (): boolean => {
    const now = list();
    if (now.length !== files.size || now.some((f) => !files.has(f))) return true;
    for (const f of now) { try { if (stampOf(f) !== files.get(f)!.stamp) return true; } catch { return true; } }
    return false;
  };
  const run = (): LocalRun => {
    const live = new Set(list());
    for (const f of [...files.keys()]) if (!live.has(f)) files.delete(f);
    for (const f of live) {
      let stamp: string;
      try { stamp = stampOf(f); } catch { files.delete(f); continue; }
      const prev = files.get(f);
      if (prev && prev.stamp === stamp) continue;
      let content: Objects | Error;
      try { content = parseManifestFile(f); } catch (err) { content = err as Error; }
      // The file on its own: does the API server take every object of it?
      const alone = buildManifestSet(new Map([[f, content]]), validators, process.cwd());
      const good = alone.problems.length === 0 ? (content as Objects) : prev?.good;
      files.set(f, { stamp, content, problems: alone.problems.map((p) => ({ ...p, kept: prev?.good !== undefined })), good });
    }
    // Every file's current objects when it is good, else its last good ones. A file that was
    // never good is read as it is: its valid objects serve, the rest are reported below.
    const effective = new Map<string, Objects | Error>();
    const fileProblems: ManifestProblem[] = [];
    for (const [f, s] of files) {
      if (s.problems.length === 0 || s.good === undefined) effective.set(f, s.content);
      else { fileProblems.push(...s.problems); effective.set(f, s.good); }
    }
    const set = buildManifestSet(effective, validators, process.cwd());
    const result = compiler.compile(set.snapshot);
    const report = dns.applyBundle(result.bundle);
    const problems = [...fileProblems, ...set.problems];
    const now = new Set<string>();
    for (const p of problems) {
      const line = problemText(p);
      now.add(line);
      if (reportedProblems.has(line)) continue;
      if (p.kept) log.error({ file: p.file, line: p.line, column: p.column, resource: p.ref, problem: p.message }, 'bad edit not applied; the last good version of this file is still served');
      else log.error({ file: p.file, line: p.line, column: p.column, resource: p.ref, problem: p.message }, 'bad manifest left out');
    }
    for (const r of rejectedResources(set, result)) {
      const line = problemText(r);
      now.add(line);
      if (!reportedProblems.has(line)) log.warn({ file: r.file, resource: r.ref, problem: r.message }, 'resource not accepted');
    }
    reportedProblems.clear();
    for (const l of now) reportedProblems.add(l);
    for (const r of report.refused) log.error({ shard: r.id, errors: r.errors }, 'generated shard refused by the DNS server');
    log.info({ applied: report.applied.length, unchanged: report.unchanged.length, removed: report.removed.length, problems: problems.length }, 'configuration applied');
    return { result, problems, report };
  };

  let last = run();
  void defaultUpstream?.probe(); // after the first configuration: the server now answers, so a looping probe comes back
  const watcher: ManifestWatcher = watchManifests(paths, () => { last = run(); }, changed, { debounceMs: opts.debounceMs, rescanMs: opts.rescanMs, poll: opts.poll, log });
  return {
    dns,
    get last() { return last; },
    watching: watcher.ready,
    reload() { last = run(); return last; },
    async close() {
      await watcher.close();
      await dns.close();
    },
  };
}

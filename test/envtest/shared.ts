// One apiserver per mocha run: the first suite that calls useEnvtest() starts it, later suites
// share it, and the root hook (hooks.ts) stops it after the run. With no binaries the suite is
// skipped, unless CI or SPLITDNS_REQUIRE_ENVTEST=1 is set: then the run fails.

import { findAssets } from './assets.js';
import { Envtest, etcdVersion } from './apiserver.js';

let started: Promise<Envtest> | undefined;
let skipReason: string | undefined;
const suites = new Set<Mocha.Suite>();
let passed = 0;

export const envtestRequired = () => Boolean(process.env.CI) || process.env.SPLITDNS_REQUIRE_ENVTEST === '1';

function startShared(): Promise<Envtest> {
  started ??= (async () => {
    const assets = findAssets();
    if (typeof assets === 'string') throw Object.assign(new Error(`envtest: ${assets}`), { noAssets: true });
    const t0 = Date.now();
    const env = await Envtest.start(assets);
    console.log(`    envtest: kube-apiserver ${env.version} (etcd ${etcdVersion(assets.etcd)}) on ${env.url}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s, binaries from ${assets.from}`);
    return env;
  })();
  return started;
}

/**
 * For a `before` hook: the shared apiserver, started on first use. Marks the calling suite as a
 * real-API suite (its passed tests are counted). Skips the suite when there are no binaries and
 * the run does not require them.
 */
export async function useEnvtest(ctx: Mocha.Context): Promise<Envtest> {
  ctx.timeout(Math.max(ctx.timeout(), 120000));
  const suite = ctx.test?.parent;
  if (suite) suites.add(suite);
  try {
    return await startShared();
  } catch (err) {
    if ((err as { noAssets?: boolean }).noAssets && !envtestRequired()) {
      if (!skipReason) console.log(`    ${(err as Error).message}; real-API tests skipped (set SPLITDNS_REQUIRE_ENVTEST=1 to make this a failure)`);
      skipReason = (err as Error).message;
      ctx.skip();
    }
    throw err;
  }
}

/** The shared apiserver if one was started (for the root hook). */
export function runningEnvtest(): Promise<Envtest> | undefined { return started; }

export function countIfRealApi(test: Mocha.Runnable | undefined): void {
  if (!test || test.state !== 'passed') return;
  for (let s: Mocha.Suite | undefined = test.parent; s; s = s.parent) if (suites.has(s)) { passed++; return; }
}

export async function stopShared(): Promise<void> {
  if (!started) return;
  const env = await started.catch(() => undefined);
  started = undefined;
  if (!env) return;
  console.log(`    envtest: ${passed} real-API tests passed against kube-apiserver ${env.version}`);
  await env.close();
}

// Where the kube-apiserver and etcd binaries come from: KUBEBUILDER_ASSETS (what kubebuilder's
// setup-envtest gives), else ../shared/envtest/*.xz (relative to the repository root) unpacked
// once into a cache directory keyed by the archive's size and mtime. Unpacking writes a temporary
// file beside the target and renames it, so parallel runs never see a half-written binary.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, statSync, openSync, closeSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with a package.json (from test/ and from dist/test/ alike). */
export const ROOT = (() => {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json'))) return d;
  throw new Error('envtest: no package.json above ' + fileURLToPath(import.meta.url));
})();
export const SHARED_ENVTEST = resolve(ROOT, '..', 'shared', 'envtest');
const NAMES = ['kube-apiserver', 'etcd'] as const;

export interface Assets { kubeApiserver: string; etcd: string; from: string }

function executable(p: string): boolean {
  try { accessSync(p, constants.X_OK); return statSync(p).isFile(); } catch { return false; }
}

function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME ?? (existsSync(homedir()) ? join(homedir(), '.cache') : tmpdir());
  return join(base, 'splitdns-envtest');
}

function unpack(xz: string): string {
  const st = statSync(xz);
  const name = xz.replace(/^.*\//, '').replace(/\.xz$/, '');
  const dir = join(cacheRoot(), `${name}-${st.size}-${Math.trunc(st.mtimeMs)}`);
  const target = join(dir, name);
  if (executable(target)) return target;
  mkdirSync(dir, { recursive: true });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w', 0o755);
  try {
    execFileSync('xz', ['-dc', xz], { stdio: ['ignore', fd, 'pipe'] });
  } catch (err) {
    closeSync(fd); rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error(`envtest: ${xz} needs xz to unpack (Debian: apt-get install xz-utils)`, { cause: err });
    throw new Error(`envtest: unpacking ${xz} failed: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
  closeSync(fd);
  renameSync(tmp, target); // atomic: a parallel run either sees the whole binary or none
  return target;
}

/** The binaries, or a sentence saying why there are none. */
export function findAssets(): Assets | string {
  const kb = process.env.KUBEBUILDER_ASSETS;
  if (kb) {
    const [a, e] = NAMES.map((n) => join(kb, n));
    if (executable(a!) && executable(e!)) return { kubeApiserver: a!, etcd: e!, from: `KUBEBUILDER_ASSETS=${kb}` };
    return `KUBEBUILDER_ASSETS=${kb} holds no executable kube-apiserver and etcd`;
  }
  const xz = NAMES.map((n) => join(SHARED_ENVTEST, `${n}.xz`));
  if (xz.every((p) => existsSync(p))) {
    const [a, e] = xz.map(unpack);
    return { kubeApiserver: a!, etcd: e!, from: SHARED_ENVTEST };
  }
  return `no kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set and ${SHARED_ENVTEST} holds no kube-apiserver.xz and etcd.xz`;
}

// Config from a file: a bundle (JSON) read at start and again whenever it changes. The
// directory is watched rather than the file, so editors that replace the file and Kubernetes
// volume updates (an atomic swap of a "..data" symlink) are both seen; a slow poll backs the
// watch up on filesystems that do not report changes. A file that cannot be read or parsed is
// logged and the last good configuration keeps serving.
//
// A poll (and a watch event) first compares the file's stat (device, inode, size, modification
// and change times, in nanoseconds) with the last read's, and reads only when one differs: at
// 10,000 Services the bundle is 5.5 MB, and reading and comparing it every 2 s cost CPU and
// moved the resident memory by tens of MB. As git does for its index ("racily clean"
// entries), a stat taken within RACY_MS of the file's own modification time is not trusted: two
// writes of the same size inside one timestamp tick would look alike, so such a file is read
// again at the next check. What was last applied is remembered by a hash of its text, not by
// the text itself.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { parseBundleJson } from '../config/hash.js';
import type { ReloadReport } from '../reload.js';

export interface FileSource {
  /** Reads the file now (whatever its stat says) and applies it if its text changed. */
  reload(): Promise<ReloadReport | undefined>;
  close(): void;
  /** How many times the source has looked at the file (watch events and polls, after the debounce), and read it. */
  readonly counts: { readonly checks: number; readonly reads: number };
}

/** A stat this close to the file's modification time may miss a second same-size write in the same tick. */
const RACY_MS = 2000;

type Sig = string;
const sigOf = (st: fs.BigIntStats): Sig => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

export interface FileSourceOptions {
  file: string;
  apply: (bundle: unknown) => ReloadReport;
  logger: Logger;
  debounceMs?: number;
  pollMs?: number;
}

export async function startFileSource(opts: FileSourceOptions): Promise<FileSource> {
  const log = opts.logger.child({ component: 'file-source', file: opts.file });
  const file = path.resolve(opts.file);
  let lastHash = '';
  /** The stat of the last read, when it can be trusted to show a change (see the file comment). */
  let lastSig: Sig | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReloadReport | undefined> | undefined;
  const counts = { checks: 0, reads: 0 };

  const read = async (): Promise<ReloadReport | undefined> => {
    let text: string;
    let st: fs.BigIntStats;
    try {
      st = await fs.promises.stat(file, { bigint: true });
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      lastSig = undefined;
      log.error({ err }, 'cannot read the config file; the last good configuration keeps serving');
      return undefined;
    }
    counts.reads++;
    // Stat before read: a write between the two changes the stat, so the next check reads again.
    lastSig = Date.now() - Number(st.mtimeNs / 1000000n) > RACY_MS ? sigOf(st) : undefined;
    const hash = createHash('sha256').update(text).digest('base64');
    if (hash === lastHash) return undefined;
    lastHash = hash;
    let doc: unknown;
    try {
      doc = parseBundleJson(text); // JSON.parse, keeping the text for the shards' hash check (config/hash.ts)
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'config file is not valid JSON; the last good configuration keeps serving');
      return undefined;
    }
    return opts.apply(doc);
  };
  const check = async (): Promise<ReloadReport | undefined> => {
    counts.checks++;
    if (lastSig !== undefined) {
      try {
        if (sigOf(await fs.promises.stat(file, { bigint: true })) === lastSig) return undefined;
      } catch { /* gone or unreadable: read() says so */ }
    }
    return read();
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { running = (running ?? Promise.resolve(undefined)).then(check, check); }, opts.debounceMs ?? 50);
  };
  const dir = path.dirname(file);
  const base = path.basename(file);
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(dir, (_event, name) => { if (!name || name === base || name.startsWith('..')) schedule(); });
    watcher.on('error', (err) => log.warn({ err }, 'directory watch failed; polling only'));
  } catch (err) {
    log.warn({ err }, 'cannot watch the config directory; polling only');
  }
  const poll = setInterval(schedule, opts.pollMs ?? 2000);
  poll.unref();
  // Checks queue behind the first read, so a poll that fires while it runs compares with its stat
  // instead of reading the file a second time.
  const close = () => { clearTimeout(timer); clearInterval(poll); watcher?.close(); };
  running = read();
  try {
    await running;
  } catch (err) {
    close(); // the start fails: no watch or poll left behind (the watch alone kept the process alive)
    throw err;
  }
  return { reload: read, close, counts };
}

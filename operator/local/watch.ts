// Watching the served manifests. Events come from chokidar (a watch per directory, so a file
// replaced by rename, as `sed -i`, `cp` over a symlink-free path and editors' atomic saves do,
// is still seen: Node 20's recursive fs.watch loses such files). Events are only a hint: a
// periodic rescan (the caller's `changed()`, a stat of every file) catches what events miss on
// file systems where they are unreliable (network mounts, some containers), and `poll: true`
// makes chokidar itself poll. Changes are debounced: one run per burst of edits.

import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Logger } from 'pino';

export interface WatchOptions {
  /** Wait this long after the last event before running (default 100 ms). */
  debounceMs?: number;
  /** Rescan every this many ms, running when `changed()` says so; 0 = no rescan (default 500). */
  rescanMs?: number;
  /** Poll instead of file system events (chokidar usePolling). */
  poll?: boolean;
  log: Logger;
}

export interface ManifestWatcher {
  /** Resolves once the watcher has read the directories (events after this are seen). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Calls `run` (debounced) after any change under `paths`; every `rescanMs` calls `changed()`
 * and runs when it returns true. `run` is never called twice at once.
 */
export function watchManifests(paths: string[], run: () => void, changed: () => boolean, opts: WatchOptions): ManifestWatcher {
  const debounceMs = opts.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    timer = undefined;
    if (closed) return;
    try { run(); } catch (err) { opts.log.error({ err }, 'reload failed; the last configuration keeps serving'); }
  };
  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
  };
  const w: FSWatcher = watch(paths, {
    ignoreInitial: true,
    usePolling: opts.poll === true,
    interval: 100,
    ignored: (p: string) => /(^|[/\\])\.[^/\\]+$/.test(p) && !paths.includes(p), // dotfiles, editors' swap files
  });
  w.on('all', schedule);
  w.on('error', (err) => opts.log.error({ err }, 'watching the manifests failed; the periodic rescan still applies changes'));
  const ready = new Promise<void>((resolve) => w.once('ready', () => resolve()));
  const rescanMs = opts.rescanMs ?? 500;
  const rescan = rescanMs > 0 ? setInterval(() => {
    if (timer !== undefined || closed) return; // a run is already due
    let moved = false;
    try { moved = changed(); } catch (err) { opts.log.error({ err }, 'rescanning the manifests failed'); }
    if (moved) { opts.log.debug('rescan found a change the file events did not report'); schedule(); }
  }, rescanMs) : undefined;
  rescan?.unref();
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (rescan) clearInterval(rescan);
      await w.close();
    },
  };
}

// Config from a file: a bundle (JSON) read at start and again whenever it changes. The
// directory is watched rather than the file, so editors that replace the file and Kubernetes
// volume updates (an atomic swap of a "..data" symlink) are both seen; a slow poll backs the
// watch up on filesystems that do not report changes. A file that cannot be read or parsed is
// logged and the last good configuration keeps serving.

import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ReloadReport } from '../reload.js';

export interface FileSource {
  /** Reads and applies the file now. */
  reload(): Promise<ReloadReport | undefined>;
  close(): void;
}

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
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReloadReport | undefined> | undefined;

  const reload = async (): Promise<ReloadReport | undefined> => {
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      log.error({ err }, 'cannot read the config file; the last good configuration keeps serving');
      return undefined;
    }
    if (text === last) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'config file is not valid JSON; the last good configuration keeps serving');
      last = text;
      return undefined;
    }
    last = text;
    return opts.apply(doc);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { running = (running ?? Promise.resolve(undefined)).then(reload, reload); }, opts.debounceMs ?? 50);
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
  await reload();
  return {
    reload,
    close() { clearTimeout(timer); clearInterval(poll); watcher?.close(); },
  };
}

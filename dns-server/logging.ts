// The one way a splitdns process makes its logger: pino, written as JSON lines (for log
// collectors) or as readable lines (for a person at a terminal). `--log-format auto` (the
// default) picks readable lines when the destination is a TTY and JSON otherwise. Shared by
// the DNS server, the operator and `splitdns serve`; it lives here because the DNS server may
// not import operator code (DESIGN.md, "Dependency directions").

import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type LogFormat = 'auto' | 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'pretty', 'json'];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Checks a --log-format value; the message names the flag and the choices. */
export function parseLogFormat(v: unknown): LogFormat {
  if (v === undefined) return 'auto';
  if (typeof v === 'string' && (LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}, not ${JSON.stringify(v)}`);
}

/** Checks a --log-level value. */
export function parseLogLevel(v: unknown): string {
  if (v === undefined) return 'info';
  if (typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v)) return v;
  throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(v)}`);
}

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** File descriptor 1 (stdout, the default) or 2 (stderr), or any stream (tests). */
  destination?: 1 | 2 | NodeJS.WritableStream;
  /** Colours in pretty mode; default: the destination is a TTY and NO_COLOR is unset. */
  color?: boolean;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'err']);

function pad2(n: number, w = 2): string { return String(n).padStart(w, '0'); }

function fieldValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/**
 * One pino JSON line → "12:04:05.123 INFO  local: configuration applied applied=3 removed=0".
 * Errors follow on indented lines (message, then the stack at debug and below).
 */
export function formatPrettyLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try { o = JSON.parse(line) as Record<string, unknown>; } catch { return line.endsWith('\n') ? line : line + '\n'; }
  const t = new Date(typeof o.time === 'number' || typeof o.time === 'string' ? o.time : Date.now());
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}.${pad2(t.getMilliseconds(), 3)}`;
  const lv = typeof o.level === 'number' ? o.level : 30;
  let level = (LEVEL_NAMES[lv] ?? String(lv)).padEnd(5);
  if (color) level = `\x1b[${LEVEL_COLOURS[lv] ?? '0'}m${level}\x1b[0m`;
  const comp = typeof o.component === 'string' ? `${o.component}: ` : '';
  const fields = Object.entries(o).filter(([k]) => !OMIT.has(k)).map(([k, v]) => `${k}=${fieldValue(v)}`);
  let out = `${time} ${level} ${comp}${String(o.msg ?? '')}${fields.length ? '  ' + fields.join(' ') : ''}\n`;
  const err = o.err as { message?: string; stack?: string; type?: string } | undefined;
  if (err && typeof err === 'object') {
    out += `    ${err.type ?? 'Error'}: ${err.message ?? ''}\n`;
    if (lv <= 20 && typeof err.stack === 'string') out += err.stack.split('\n').slice(1).map((l) => `    ${l.trim()}\n`).join('');
  }
  return out;
}

/** A pino destination that writes readable lines to `out`. */
export function prettyDestination(out: NodeJS.WritableStream, color: boolean): DestinationStream {
  return { write: (line: string) => { out.write(formatPrettyLine(line, color)); } };
}

/** Makes the process's logger (one per process, made in main and passed down). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const d = opts.destination ?? 1;
  const stream = typeof d === 'number' ? (d === 2 ? process.stderr : process.stdout) : d;
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  const format = opts.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  if (!pretty) return pino({ level }, typeof d === 'number' ? pino.destination(d) : d);
  const color = opts.color ?? (tty && process.env.NO_COLOR === undefined);
  return pino({ level }, prettyDestination(stream, color));
}

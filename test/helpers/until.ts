// Waits for a condition, polling every `pollMs` (5 ms), and fails with what was awaited after
// `limitMs`. The check may be async and may return a value: anything but undefined, null or false
// ends the wait and is returned (null counts as "not yet", so a bare `RegExp.exec` works). With `retryErrors`, a check that throws counts as "not yet" (an API
// object not created yet) and the last error is named if the wait times out.
export async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  limitMs = 5000,
  opts: { pollMs?: number; retryErrors?: boolean } = {},
): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${limitMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 5));
  }
}

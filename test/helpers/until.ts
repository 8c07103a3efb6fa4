// Waits for a condition, polling every 5 ms, and fails with what was awaited after `limitMs`.
export async function until(what: string, check: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

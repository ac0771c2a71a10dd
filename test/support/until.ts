/**
 * Polls `check` every 20 ms until it holds, for at most `timeoutMs` of real time: for what
 * servers do on their own timers (a deliverer's poll), never for simulated time.
 *
 * @example
 * await until('every event at the receiver', () => receiver.acknowledged().size === 4);
 */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Polling helper: real daemons converge in their own time, so tests wait for a condition
// instead of sleeping a fixed amount.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Poll period (default 250 ms). */
  readonly intervalMs?: number;
  /** What is being waited for, used in the timeout error. */
  readonly what?: string;
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    message: string,
    /** The predicate's last value or error, to explain why the wait failed. */
    readonly last: unknown,
  ) {
    super(message);
  }
}

/** Thrown by a predicate to end the wait at once (e.g. the daemon died): waitFor rethrows it. */
export class StopWaiting extends Error {
  override readonly name = 'StopWaiting';
}

function describe(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === 'string') return v.length > 2000 ? `${v.slice(0, 2000)}...` : v;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * Call `predicate` until it returns a truthy value, and return that value. A predicate that throws
 * counts as "not yet" (a daemon's CLI is often not up at first), unless it throws StopWaiting; the
 * last error or value is in the timeout error.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<Exclude<T, false | '' | 0>>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<Exclude<T, false | '' | 0>>;
      last = v;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}; last: ${describe(last)}`,
        last,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

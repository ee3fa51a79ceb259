/**
 * Time for the session driver. The FSM never reads a clock; the driver passes `clock.now()` into
 * every step and arms the FSM's timers here, so tests swap in ManualClock and run hours of
 * protocol time in milliseconds.
 */

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Clock {
  /** Milliseconds since the epoch (BIRD's "since" is wall-clock time). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Epoch milliseconds that never jump: the wall clock read once at process start, advanced by the
 * monotonic clock. Timer deadlines are computed from `now()`, so `Date.now()` here would let a
 * wall-clock step (NTP, `date -s`, a VM resume) stall every timer — a step back of an hour
 * re-armed each keepalive for an hour and the peers' hold timers expired — or fire them early.
 */
const EPOCH_AT_START = Date.now() - performance.now();
export function monotonicEpochMs(): number {
  return Math.round(EPOCH_AT_START + performance.now());
}

/** The real clock. Timers are unref'd: a pending keepalive alone must not keep the daemon alive. */
export const realClock: Clock = {
  now: monotonicEpochMs,
  setTimeout(fn, ms) {
    const h = setTimeout(fn, Math.max(0, ms));
    h.unref();
    return h;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to. Due timers run in deadline order (FIFO on ties). */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  /** Timers still pending. */
  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Move time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => !x.cancelled);
      let next: ManualTimer | null = null;
      for (const x of this.timers) if (x.at <= until && (next === null || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x;
      if (next === null) break;
      this.t = Math.max(this.t, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.t = until;
  }
}

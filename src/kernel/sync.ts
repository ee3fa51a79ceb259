/**
 * Desired-state reconciliation of wren's kernel routes, keyed by prefix within one (table,
 * protocol). The RIB says what it wants (`setDesired`, last state per prefix wins); this class
 * owns what the kernel is believed to hold (`installed`, from dumps, write ACKs and others'
 * notifications) and writes only the difference:
 * - a route of ours already equal to intent is adopted without a write (restart without flap);
 * - a differing one is replaced atomically (NLM_F_REPLACE), never deleted and re-added;
 * - a prefix with no route of ours is created with NLM_F_EXCL so another protocol's route at the
 *   same prefix is reported, not overwritten; deletes always carry our protocol;
 * - routes of ours that intent does not mention are only removed after `converged()` (the RIB has
 *   seen End-of-RIB from its graceful-restart peers), so a restart keeps forwarding meanwhile.
 * Failed writes are retried with exponential back-off and kept per prefix for `bgpctl show kernel`.
 * Someone else deleting or changing a route of ours, a link coming back up (the kernel silently
 * drops IPv4 routes through a downed device), an interface address removed or added (removing a
 * device's last IPv4 address flushes its routes just as silently), a notification overrun, and a
 * periodic timer all lead to repair: notifications for single prefixes, a full dump otherwise.
 */
import { formatPrefix } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';
import type { KernelChange, KernelRoute } from '../../rib/kernel-types.js';
import { ERRNO } from './constants.js';
// Retry deadlines must survive wall-clock steps (see session/clock.ts).
import { monotonicEpochMs } from '../session/clock.js';
import { defaultPriority, fibRouteMatches, installedForm } from './fib.js';
import type { Fib, FibEvent, FibRoute, FibWrite } from './fib.js';

/** The subset of pino's API kernel sync uses (object first, message second). */
export interface KernelLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export type RepairReason = 'deleted' | 'changed' | 'scan';

export type KernelSyncEvent =
  | { readonly type: 'adopted'; readonly adopted: number; readonly mismatched: number; readonly unclaimed: number }
  | { readonly type: 'write-failed'; readonly prefix: Prefix; readonly error: string; readonly errno: number; readonly attempts: number; readonly retryInMs: number }
  | { readonly type: 'write-recovered'; readonly prefix: Prefix; readonly attempts: number }
  | { readonly type: 'repair'; readonly prefix: Prefix; readonly reason: RepairReason }
  | { readonly type: 'link'; readonly name: string; readonly up: boolean }
  | { readonly type: 'address'; readonly added: boolean; readonly address: string | null; readonly device: string | null }
  | { readonly type: 'stale-removed'; readonly count: number }
  | { readonly type: 'scan'; readonly routes: number; readonly mismatches: number; readonly durationMs: number }
  | { readonly type: 'idle' };

export interface KernelSyncOptions {
  readonly fib: Fib;
  readonly logger?: KernelLogger;
  readonly onEvent?: (event: KernelSyncEvent) => void;
  /** Leave routes in the kernel on stop (default true). */
  readonly persist?: boolean;
  /** Full dump-and-compare period; 0 disables (default 30 s). */
  readonly scanIntervalMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Delay before acting on notifications, so a burst is read completely first (default 20 ms). */
  readonly repairDelayMs?: number;
  /** Writes handed to the Fib per round, bounding memory and event-loop slices (default 16384). */
  readonly maxWritesPerRound?: number;
}

interface Failure {
  readonly error: string;
  readonly errno: number;
  readonly attempts: number;
  readonly since: number;
  retryAt: number;
}

export type KernelEntryState = 'synced' | 'pending' | 'failed' | 'unclaimed';

export interface KernelEntryStatus {
  readonly prefix: string;
  readonly desired: KernelRoute | null;
  readonly installed: FibRoute | null;
  readonly state: KernelEntryState;
  readonly error?: string;
  readonly attempts?: number;
  readonly nextRetryInMs?: number;
}

export interface KernelSyncStatus {
  readonly table: number;
  readonly protocol: number;
  readonly converged: boolean;
  readonly persist: boolean;
  readonly desired: number;
  readonly installed: number;
  readonly pending: number;
  readonly failed: number;
  readonly unclaimed: number;
  readonly writes: number;
  readonly scans: number;
  readonly repairs: number;
}

const NOOP_LOGGER: KernelLogger = { debug() {}, info() {}, warn() {}, error() {} };


export class KernelSync {
  private readonly fib: Fib;
  private readonly log: KernelLogger;
  private readonly onEvent: (e: KernelSyncEvent) => void;
  readonly persist: boolean;
  private readonly scanIntervalMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly repairDelayMs: number;
  private readonly maxWritesPerRound: number;

  private readonly desired = new Map<Prefix, KernelRoute>();
  private readonly installed = new Map<Prefix, FibRoute>();
  /** Routes of ours at a non-default metric: never adopted, removed once converged. */
  private strays: FibRoute[] = [];
  /** Routes found in the kernel that intent has not mentioned yet; kept until `converged()`. */
  private readonly unclaimed = new Set<Prefix>();
  private readonly dirty = new Set<Prefix>();
  private readonly inflight = new Set<Prefix>();
  private readonly failures = new Map<Prefix, Failure>();

  private started = false;
  private stopping = false;
  private isConverged = false;
  private scanRequested = false;
  private flushing: Promise<void> | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private kickImmediate: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private counters = { writes: 0, scans: 0, repairs: 0 };

  constructor(opts: KernelSyncOptions) {
    this.fib = opts.fib;
    this.log = opts.logger ?? NOOP_LOGGER;
    this.onEvent = opts.onEvent ?? (() => {});
    this.persist = opts.persist ?? true;
    this.scanIntervalMs = opts.scanIntervalMs ?? 30_000;
    this.retryInitialMs = opts.retryInitialMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.repairDelayMs = opts.repairDelayMs ?? 20;
    this.maxWritesPerRound = opts.maxWritesPerRound ?? 16_384;
  }

  /**
   * Open the Fib, dump our routes, adopt those equal to intent given so far, and start watching.
   * Intent may be set before or after; nothing is written before start.
   */
  async start(): Promise<void> {
    if (this.started) return;
    await this.fib.open();
    this.unsubscribe = this.fib.subscribe((e) => this.onFibEvent(e));
    const t0 = performance.now();
    const rows = await this.fib.dump();
    this.loadDump(rows);
    let adopted = 0;
    let mismatched = 0;
    for (const [p, have] of this.installed) {
      const want = this.desired.get(p);
      if (want === undefined) this.unclaimed.add(p);
      else if (fibRouteMatches(want, have)) adopted++;
      else mismatched++;
    }
    this.started = true;
    for (const p of this.desired.keys()) this.dirty.add(p);
    this.log.info(
      { adopted, mismatched, unclaimed: this.unclaimed.size, strays: this.strays.length, ms: Math.round(performance.now() - t0) },
      'kernel routes adopted',
    );
    this.onEvent({ type: 'adopted', adopted, mismatched, unclaimed: this.unclaimed.size });
    if (this.scanIntervalMs > 0) {
      this.scanTimer = setInterval(() => this.requestScan(), this.scanIntervalMs);
      this.scanTimer.unref();
    }
    this.kick(0);
  }

  /** Record intent; last state per prefix wins. Writes follow asynchronously, batched. */
  setDesired(changes: readonly KernelChange[]): void {
    for (const c of changes) {
      const p = c.prefix;
      if (c.route === null) this.desired.delete(p);
      else this.desired.set(p, c.route);
      // Intent now speaks for this prefix: its fate no longer waits for convergence.
      this.unclaimed.delete(p);
      const f = this.failures.get(p);
      if (f !== undefined) f.retryAt = 0; // new intent deserves a prompt try
      this.dirty.add(p);
    }
    if (this.started) this.kick(0);
  }

  /** The RIB has converged (End-of-RIB after graceful restart): remove routes of ours it did not claim. */
  converged(): void {
    if (this.isConverged) return;
    this.isConverged = true;
    for (const p of this.unclaimed) this.dirty.add(p);
    this.unclaimed.clear();
    if (this.strays.length > 0) this.scanRequested = true;
    if (this.started) this.kick(0);
  }

  /** Resolves when every write that can be made now has been made (failures may still wait for retry). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Force a full dump-and-compare now (also run periodically). */
  requestScan(): void {
    this.scanRequested = true;
    this.kick(0);
  }

  async stop(): Promise<void> {
    if (!this.started) {
      await this.fib.close();
      return;
    }
    this.stopping = true;
    this.clearTimers();
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.flushing !== null) await this.flushing;
    if (!this.persist) {
      const writes: FibWrite[] = [];
      for (const p of this.installed.keys()) writes.push({ op: 'delete', prefix: p, priority: null });
      for (const s of this.strays) writes.push({ op: 'delete', prefix: s.prefix, priority: s.priority });
      const results = await this.fib.apply(writes);
      const failed = results.filter((r) => !r.ok).length;
      this.log.info({ removed: writes.length - failed, failed }, 'kernel routes removed on stop');
      this.installed.clear();
    } else {
      this.log.info({ kept: this.installed.size }, 'kernel routes kept on stop (persist)');
    }
    await this.fib.close();
    this.started = false;
    this.resolveIdle();
  }

  status(): KernelSyncStatus {
    let pending = 0;
    for (const p of this.desired.keys()) if (this.entryState(p) === 'pending') pending++;
    return {
      table: this.fib.table,
      protocol: this.fib.protocol,
      converged: this.isConverged,
      persist: this.persist,
      desired: this.desired.size,
      installed: this.installed.size,
      pending,
      failed: this.failures.size,
      unclaimed: this.unclaimed.size,
      writes: this.counters.writes,
      scans: this.counters.scans,
      repairs: this.counters.repairs,
    };
  }

  /** Per-prefix view for `bgpctl show kernel`: every prefix desired or installed. */
  entries(): KernelEntryStatus[] {
    const out: KernelEntryStatus[] = [];
    const now = monotonicEpochMs();
    const seen = new Set<Prefix>();
    for (const p of [...this.desired.keys(), ...this.installed.keys()]) {
      if (seen.has(p)) continue;
      seen.add(p);
      const f = this.failures.get(p);
      const base = {
        prefix: formatPrefix(p),
        desired: this.desired.get(p) ?? null,
        installed: this.installed.get(p) ?? null,
        state: this.entryState(p),
      };
      out.push(f === undefined ? base : { ...base, error: f.error, attempts: f.attempts, nextRetryInMs: Math.max(0, f.retryAt - now) });
    }
    return out;
  }

  /** The last error of a prefix, if its write is failing. */
  failure(prefix: Prefix): { readonly error: string; readonly errno: number; readonly attempts: number } | undefined {
    return this.failures.get(prefix);
  }

  // --- internals ----------------------------------------------------------------------------

  private entryState(p: Prefix): KernelEntryState {
    if (this.failures.has(p)) return 'failed';
    if (this.unclaimed.has(p)) return 'unclaimed';
    const want = this.desired.get(p);
    const have = this.installed.get(p);
    if (want === undefined) return have === undefined ? 'synced' : 'pending';
    return have !== undefined && fibRouteMatches(want, have) ? 'synced' : 'pending';
  }

  private loadDump(rows: readonly FibRoute[]): void {
    this.installed.clear();
    this.strays = [];
    for (const r of rows) {
      if (r.priority === defaultPriority(r.prefix)) this.installed.set(r.prefix, r);
      else this.strays.push(r);
    }
  }

  private isIdle(): boolean {
    return this.flushing === null && this.kickTimer === null && this.kickImmediate === null && this.dirty.size === 0 && !this.scanRequested;
  }

  private resolveIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private clearTimers(): void {
    if (this.kickTimer !== null) clearTimeout(this.kickTimer);
    if (this.kickImmediate !== null) clearImmediate(this.kickImmediate);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.scanTimer !== null) clearInterval(this.scanTimer);
    this.kickTimer = this.kickImmediate = this.retryTimer = this.scanTimer = null;
  }

  /** Schedule a flush; a shorter delay wins over a pending longer one. */
  private kick(delayMs: number): void {
    if (!this.started || this.stopping) return;
    if (delayMs <= 0) {
      if (this.kickImmediate !== null) return;
      if (this.kickTimer !== null) {
        clearTimeout(this.kickTimer);
        this.kickTimer = null;
      }
      this.kickImmediate = setImmediate(() => {
        this.kickImmediate = null;
        this.startFlush();
      });
      return;
    }
    if (this.kickTimer !== null || this.kickImmediate !== null) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      this.startFlush();
    }, delayMs);
  }

  private startFlush(): void {
    if (this.flushing !== null) return; // the running loop picks new work up before it exits
    this.flushing = this.flushLoop()
      .catch((err: unknown) => {
        this.log.error({ err: String(err) }, 'kernel sync round failed');
        this.scanRequested = true;
        this.kick(this.retryInitialMs);
      })
      .finally(() => {
        this.flushing = null;
        if (!this.stopping && (this.dirty.size > 0 || this.scanRequested)) this.kick(0);
        else if (this.isIdle()) {
          this.onEvent({ type: 'idle' });
          this.resolveIdle();
        }
      });
  }

  private async flushLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.scanRequested) {
        this.scanRequested = false;
        await this.scan();
        continue;
      }
      if (this.dirty.size === 0) return;
      await this.writeRound();
    }
  }

  private async writeRound(): Promise<void> {
    const now = monotonicEpochMs();
    const writes: FibWrite[] = [];
    const prefixes: Prefix[] = [];
    const intents: (KernelRoute | null)[] = [];
    for (const p of this.dirty) {
      if (writes.length >= this.maxWritesPerRound) break;
      this.dirty.delete(p);
      const f = this.failures.get(p);
      if (f !== undefined && f.retryAt > now) continue; // the retry timer brings it back
      const want = this.desired.get(p) ?? null;
      const have = this.installed.get(p) ?? null;
      if (want !== null) {
        if (have !== null && fibRouteMatches(want, have)) {
          this.clearFailure(p);
          continue;
        }
        writes.push({ op: 'replace', route: want, exclusive: have === null });
      } else {
        if (have === null || this.unclaimed.has(p)) {
          this.clearFailure(p);
          continue;
        }
        writes.push({ op: 'delete', prefix: p, priority: null });
      }
      prefixes.push(p);
      intents.push(want);
      this.inflight.add(p);
    }
    if (writes.length === 0) return;
    this.counters.writes += writes.length;
    const results = await this.fib.apply(writes);
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      const want = intents[i]!;
      const r = results[i]!;
      this.inflight.delete(p);
      if (r.ok) {
        if (want !== null) this.installed.set(p, installedForm(want));
        else this.installed.delete(p);
        const f = this.failures.get(p);
        if (f !== undefined) {
          this.failures.delete(p);
          this.log.info({ prefix: formatPrefix(p), attempts: f.attempts }, 'kernel write recovered');
          this.onEvent({ type: 'write-recovered', prefix: p, attempts: f.attempts });
        }
      } else {
        this.recordFailure(p, r.errno, r.message);
        // EEXIST on an exclusive create may be a route of ours we never saw (a lost notification,
        // or our own create whose ACK was lost): a dump settles whose it is.
        if (r.errno === ERRNO.EEXIST || r.errno === ERRNO.ENOBUFS) this.scanRequested = true;
      }
    }
  }

  private clearFailure(p: Prefix): void {
    this.failures.delete(p);
  }

  private recordFailure(p: Prefix, errno: number, error: string): void {
    const prev = this.failures.get(p);
    const attempts = (prev?.attempts ?? 0) + 1;
    const backoff = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(attempts - 1, 30));
    const now = monotonicEpochMs();
    this.failures.set(p, { error, errno, attempts, since: prev?.since ?? now, retryAt: now + backoff });
    // Log the first failure and then at powers of two, so a stuck route does not flood the log.
    if ((attempts & (attempts - 1)) === 0) {
      this.log.warn({ prefix: formatPrefix(p), error, attempts, retryInMs: backoff }, 'kernel write failed');
    }
    this.onEvent({ type: 'write-failed', prefix: p, error, errno, attempts, retryInMs: backoff });
    this.armRetry();
  }

  private armRetry(): void {
    if (this.stopping) return;
    let next = Infinity;
    for (const f of this.failures.values()) if (f.retryAt < next) next = f.retryAt;
    if (next === Infinity) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const now = monotonicEpochMs();
      for (const [p, f] of this.failures) if (f.retryAt <= now) this.dirty.add(p);
      this.armRetry();
      this.kick(0);
    }, Math.max(0, next - monotonicEpochMs()));
    this.retryTimer.unref();
  }

  private async scan(): Promise<void> {
    const t0 = performance.now();
    const rows = await this.fib.dump();
    this.counters.scans++;
    this.loadDump(rows);
    let mismatches = 0;
    for (const [p, want] of this.desired) {
      const have = this.installed.get(p);
      if (have === undefined || !fibRouteMatches(want, have)) {
        mismatches++;
        if (!this.dirty.has(p) && !this.failures.has(p)) this.noteRepair(p, 'scan');
        this.dirty.add(p);
      }
    }
    for (const p of this.installed.keys()) {
      if (this.desired.has(p)) continue;
      if (this.isConverged) {
        mismatches++;
        this.dirty.add(p);
      } else this.unclaimed.add(p);
    }
    if (this.isConverged && this.strays.length > 0) {
      const strays = this.strays;
      const res = await this.fib.apply(strays.map((s) => ({ op: 'delete', prefix: s.prefix, priority: s.priority }) as const));
      const removed = res.filter((r) => r.ok).length;
      this.onEvent({ type: 'stale-removed', count: removed });
      this.strays = [];
    }
    const durationMs = performance.now() - t0;
    this.log.debug({ routes: rows.length, mismatches, ms: Math.round(durationMs) }, 'kernel scan');
    this.onEvent({ type: 'scan', routes: rows.length, mismatches, durationMs });
  }

  private noteRepair(p: Prefix, reason: RepairReason): void {
    this.counters.repairs++;
    this.log.info({ prefix: formatPrefix(p), reason }, 'kernel route repair');
    this.onEvent({ type: 'repair', prefix: p, reason });
  }

  private rescanAndRetryNow(): void {
    this.scanRequested = true;
    for (const [p, f] of this.failures) {
      f.retryAt = 0;
      this.dirty.add(p);
    }
  }

  private onFibEvent(e: FibEvent): void {
    if (this.stopping) return;
    switch (e.type) {
      case 'route-changed': {
        const r = e.route;
        if (r.priority !== defaultPriority(r.prefix)) {
          this.strays.push(r);
          if (this.isConverged) this.scanRequested = true;
          break;
        }
        this.installed.set(r.prefix, r);
        if (this.inflight.has(r.prefix)) break;
        const want = this.desired.get(r.prefix);
        if (want !== undefined) {
          if (!fibRouteMatches(want, r)) {
            this.noteRepair(r.prefix, 'changed');
            this.dirty.add(r.prefix);
          }
        } else if (this.isConverged) this.dirty.add(r.prefix);
        else this.unclaimed.add(r.prefix);
        break;
      }
      case 'route-deleted': {
        if (e.priority !== defaultPriority(e.prefix)) break;
        this.installed.delete(e.prefix);
        this.unclaimed.delete(e.prefix);
        if (this.desired.has(e.prefix) && !this.inflight.has(e.prefix)) {
          this.noteRepair(e.prefix, 'deleted');
          this.dirty.add(e.prefix);
        }
        break;
      }
      case 'link':
        this.log.info({ link: e.name, up: e.up, deleted: e.deleted }, 'kernel link change');
        this.onEvent({ type: 'link', name: e.name, up: e.up });
        if (e.up) {
          // IPv4 routes through a device that went down were flushed without notification, and
          // writes through it failed: re-check everything and retry failures now.
          this.rescanAndRetryNow();
        }
        break;
      case 'address': {
        const where = { address: e.address === null ? null : `${e.address}/${e.prefixLength}`, device: e.device };
        // Removed: the kernel may just have flushed routes of ours in silence (the last IPv4
        // address of a device takes every route through it along, e.g. CrossSubnet `via X dev
        // eth0`); a scan finds them missing and the writes that now fail say why in the kernel's
        // words. Added: gateways on that subnet are reachable again, so every failed write is
        // retried at once instead of at its back-off (up to retryMaxMs later).
        // Info when it matters (a removal; an addition with writes waiting), debug otherwise: hosts
        // add addresses routinely (kube-proxy's service IPs on kube-ipvs0).
        const failing = this.failures.size;
        if (!e.added) this.log.info({ ...where }, 'kernel address removed: checking our routes');
        else if (failing > 0) this.log.info({ ...where, failing }, 'kernel address added: retrying failed route writes now');
        else this.log.debug({ ...where }, 'kernel address added');
        this.onEvent({ type: 'address', added: e.added, ...where });
        this.rescanAndRetryNow();
        break;
      }
      case 'overrun':
        this.log.warn({}, 'kernel notifications lost; rescanning');
        this.scanRequested = true;
        break;
    }
    this.kick(this.repairDelayMs);
  }
}

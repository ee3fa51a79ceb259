/**
 * An in-memory Fib for tests without a network namespace (the RIB's, the daemon's). It keeps
 * routes of "our" protocol keyed by (prefix, priority), applies writes with the kernel's
 * semantics that matter to KernelSync (EXCL vs REPLACE, deletes of missing routes), records every
 * write, and lets a test inject failures, foreign routes, outside changes and link events.
 */
import type { Prefix } from '../../proto/prefix.js';
import type { KernelRoute } from '../../rib/kernel-types.js';
import { ERRNO, RTPROT_BIRD, RT_TABLE_MAIN } from './constants.js';
import { FIB_OK, defaultPriority, fibError, installedForm } from './fib.js';
import type { Fib, FibEvent, FibRoute, FibResult, FibWrite } from './fib.js';

export interface FakeFibOptions {
  readonly table?: number;
  readonly protocol?: number;
  /** Devices that exist; a next hop naming another device fails with ENODEV. Default: any. */
  readonly devices?: readonly string[];
}

export class FakeFib implements Fib {
  readonly table: number;
  readonly protocol: number;
  /** Routes of our protocol, by prefix (default metric). */
  readonly routes = new Map<Prefix, FibRoute>();
  /** Prefixes held by another protocol: an exclusive create there fails with EEXIST. */
  readonly foreign = new Set<Prefix>();
  /** Every write applied, in order (for assertions such as "no write on restart"). */
  readonly log: FibWrite[] = [];
  private devices: Set<string> | null;
  private readonly failNext = new Map<Prefix, number[]>();
  private readonly listeners = new Set<(e: FibEvent) => void>();
  opened = false;
  closed = false;

  constructor(opts: FakeFibOptions = {}) {
    this.table = opts.table ?? RT_TABLE_MAIN;
    this.protocol = opts.protocol ?? RTPROT_BIRD;
    this.devices = opts.devices === undefined ? null : new Set(opts.devices);
  }

  async open(): Promise<void> {
    this.opened = true;
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  subscribe(listener: (event: FibEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async dump(): Promise<readonly FibRoute[]> {
    return [...this.routes.values()];
  }

  async apply(writes: readonly FibWrite[]): Promise<readonly FibResult[]> {
    const out: FibResult[] = [];
    for (const w of writes) {
      this.log.push(w);
      out.push(this.applyOne(w));
    }
    return out;
  }

  private applyOne(w: FibWrite): FibResult {
    const p = w.op === 'replace' ? w.route.prefix : w.prefix;
    const queued = this.failNext.get(p);
    if (queued !== undefined && queued.length > 0) {
      const errno = queued.shift()!;
      if (queued.length === 0) this.failNext.delete(p);
      return fibError(errno);
    }
    if (w.op === 'delete') {
      this.routes.delete(p);
      return FIB_OK;
    }
    if (w.route.kind === 'unicast') {
      for (const h of w.route.nextHops) {
        if (h.device !== undefined && this.devices !== null && !this.devices.has(h.device)) {
          return fibError(ERRNO.ENODEV, `device ${h.device} not found`);
        }
      }
    }
    if (w.exclusive && (this.routes.has(p) || this.foreign.has(p))) return fibError(ERRNO.EEXIST);
    if (!w.exclusive && this.foreign.has(p) && !this.routes.has(p)) this.foreign.delete(p);
    this.routes.set(p, installedForm(w.route));
    return FIB_OK;
  }

  // --- test controls ------------------------------------------------------------------------

  /** The next writes for `prefix` fail with these errnos, in order. */
  failWrites(prefix: Prefix, ...errnos: number[]): void {
    this.failNext.set(prefix, [...(this.failNext.get(prefix) ?? []), ...errnos]);
  }

  setDevices(devices: readonly string[] | null): void {
    this.devices = devices === null ? null : new Set(devices);
  }

  /** Someone else deletes a route of ours (emits a notification unless `silent`, like a link flush). */
  externalDelete(prefix: Prefix, silent = false): void {
    if (!this.routes.delete(prefix)) return;
    if (!silent) this.emit({ type: 'route-deleted', prefix, priority: defaultPriority(prefix) });
  }

  /** Someone else installs a route with our protocol. */
  externalReplace(route: KernelRoute): void {
    const r = installedForm(route);
    this.routes.set(route.prefix, r);
    this.emit({ type: 'route-changed', route: r });
  }

  emit(e: FibEvent): void {
    for (const l of this.listeners) l(e);
  }
}


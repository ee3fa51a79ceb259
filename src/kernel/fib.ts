/**
 * The narrow boundary between kernel sync logic and the kernel itself. `KernelSync` speaks only
 * to a `Fib`; `NetlinkFib` is the real one, `FakeFib` an in-memory stand-in for tests that
 * have no network namespace. A Fib is bound to one (table, protocol) pair: it only reports
 * routes carrying that protocol in that table, and every write it makes carries them.
 */
import type { Address } from '../../proto/types.js';
import type { Prefix } from '../../proto/prefix.js';
import type { KernelRoute } from '../../rib/kernel-types.js';

/** What the kernel holds for a prefix, in wren's protocol and table, decoded for comparison. */
export interface FibNextHop {
  readonly gateway: Address | null;
  /** Device name; null when the ifindex is unknown (device gone) or absent. */
  readonly device: string | null;
  readonly onlink: boolean;
}

export type FibRoute =
  | { readonly kind: 'blackhole'; readonly prefix: Prefix; readonly priority: number }
  | { readonly kind: 'unicast'; readonly prefix: Prefix; readonly priority: number; readonly nextHops: readonly FibNextHop[] }
  /** A shape wren never writes (unreachable, prohibit, a device route...): never equal to intent. */
  | { readonly kind: 'other'; readonly prefix: Prefix; readonly priority: number; readonly rtType: number };

export type FibWrite =
  /**
   * `exclusive`: NLM_F_CREATE|NLM_F_EXCL, used when no route of ours is known at the prefix so a
   * route of another protocol there is reported (EEXIST) rather than overwritten. Otherwise
   * NLM_F_CREATE|NLM_F_REPLACE, the atomic in-place replace.
   */
  | { readonly op: 'replace'; readonly route: KernelRoute; readonly exclusive: boolean }
  /** `priority` null: the default metric (0 for IPv4, 1024 for IPv6). */
  | { readonly op: 'delete'; readonly prefix: Prefix; readonly priority: number | null };

export type FibResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly errno: number; readonly code: string; readonly message: string };

export type FibEvent =
  /** A route of ours was added or replaced by someone else (our own writes are not echoed). */
  | { readonly type: 'route-changed'; readonly route: FibRoute }
  | { readonly type: 'route-deleted'; readonly prefix: Prefix; readonly priority: number }
  /** A link appeared, changed state, or disappeared (`up` false when deleted). */
  | { readonly type: 'link'; readonly name: string; readonly ifindex: number; readonly up: boolean; readonly deleted: boolean }
  /**
   * An interface address was added or removed. Removing the last IPv4 address of a device makes
   * the kernel flush, without any notification, every route through that device, and any
   * gateway on the removed subnet becomes unreachable for writes until the address is back.
   */
  | { readonly type: 'address'; readonly added: boolean; readonly family: 4 | 6; readonly address: string | null; readonly prefixLength: number; readonly device: string | null }
  /** Notifications were lost (socket overrun): only a full dump can tell the truth now. */
  | { readonly type: 'overrun' };

export interface Fib {
  readonly table: number;
  readonly protocol: number;
  open(): Promise<void>;
  /** Results are in the order of `writes`. Never rejects for a per-route failure. */
  apply(writes: readonly FibWrite[]): Promise<readonly FibResult[]>;
  /** Every route of our protocol in our table, both families. */
  dump(): Promise<readonly FibRoute[]>;
  /** Returns an unsubscribe function. */
  subscribe(listener: (event: FibEvent) => void): () => void;
  close(): Promise<void>;
}

/** Kernel default metric when none is given: the one a route of ours normally has. */
export function defaultPriority(prefix: Prefix): number {
  return typeof prefix === 'number' ? 0 : 1024;
}

/** What the kernel will show after a successful write of `r` (devices unresolved stay null). */
export function installedForm(r: KernelRoute): FibRoute {
  const priority = defaultPriority(r.prefix);
  if (r.kind === 'blackhole') return { kind: 'blackhole', prefix: r.prefix, priority };
  return {
    kind: 'unicast',
    prefix: r.prefix,
    priority,
    nextHops: r.nextHops.map((h) => ({ gateway: h.gateway, device: h.device ?? null, onlink: h.onlink })),
  };
}

function hopKey(gateway: Address | null): string {
  return gateway === null ? '' : String(gateway);
}

/**
 * Exact comparison of what the kernel holds to intent: type, every gateway, device when intent
 * names one, and the onlink flag. Protocol and table are guaranteed by the Fib's filter; metric by
 * the caller (a route of ours at a non-default metric is a different kernel entry). ECMP hop order
 * is not significant (the kernel may reorder IPv6 siblings).
 */
export function fibRouteMatches(intent: KernelRoute, k: FibRoute): boolean {
  if (intent.prefix !== k.prefix) return false;
  if (k.priority !== defaultPriority(k.prefix)) return false;
  if (intent.kind === 'blackhole') return k.kind === 'blackhole';
  if (k.kind !== 'unicast') return false;
  if (intent.nextHops.length !== k.nextHops.length) return false;
  const want = [...intent.nextHops].sort((a, b) => (hopKey(a.gateway) < hopKey(b.gateway) ? -1 : 1));
  const have = [...k.nextHops].sort((a, b) => (hopKey(a.gateway) < hopKey(b.gateway) ? -1 : 1));
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (h.gateway !== w.gateway) return false;
    if (h.onlink !== w.onlink) return false;
    if (w.device !== undefined && h.device !== w.device) return false;
  }
  return true;
}

/** Errno names for the codes rtnetlink returns, for messages and `bgpctl show kernel`. */
const ERRNO_NAMES: Readonly<Record<number, readonly [string, string]>> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  3: ['ESRCH', 'no such route'],
  12: ['ENOMEM', 'out of memory'],
  13: ['EACCES', 'permission denied'],
  17: ['EEXIST', 'a route of another protocol holds this prefix'],
  19: ['ENODEV', 'no such device'],
  22: ['EINVAL', 'invalid argument'],
  95: ['EOPNOTSUPP', 'operation not supported'],
  100: ['ENETDOWN', 'next-hop device is down'],
  101: ['ENETUNREACH', 'gateway unreachable (no connected route)'],
  105: ['ENOBUFS', 'netlink buffer overrun, outcome unknown'],
  110: ['ETIMEDOUT', 'no reply from the kernel'],
  113: ['EHOSTUNREACH', 'no route to host'],
};

export function fibError(errno: number, detail?: string): FibResult {
  const known = ERRNO_NAMES[errno];
  const code = known?.[0] ?? `E${errno}`;
  const text = known?.[1] ?? `errno ${errno}`;
  return { ok: false, errno, code, message: detail === undefined ? `${code}: ${text}` : `${code}: ${detail}` };
}

export const FIB_OK: FibResult = Object.freeze({ ok: true });

/**
 * What the FIB should hold for one prefix, from its Loc-RIB best/multipath, the pools and this
 * node's addressing: Calico's `calico_kernel_programming` filter plus the calico-bird `krt_tunnel`
 * patch (calico.md §1.7 step 4, §2.1), as a pure function.
 */
import type { Prefix } from '../proto/prefix.js';
import { mask4, prefixLength } from '../proto/prefix.js';
import type { Address } from '../proto/types.js';
import type { KernelNextHop, KernelRoute } from './kernel-types.js';
import { compareAddress } from './decision.js';
import type { Pool } from './policy.js';
import { findPool } from './policy.js';

export interface KernelIntentConfig {
  readonly pools: readonly Pool[];
  /** Node.spec.bgp.ipv4Address: CrossSubnet asks "is the BGP next hop inside this subnet". */
  readonly nodeAddress?: { readonly address: number; readonly length: number };
  /** IPIP device (tunl0). */
  readonly tunnelDevice: string;
  /** The NIC for same-subnet CrossSubnet routes; absent: let the kernel resolve (BIRD `krt_tunnel = ""`). */
  readonly nicDevice?: string;
}

/** The Loc-RIB facts the kernel needs about one prefix. */
export type KernelSource =
  | { readonly kind: 'local'; readonly block: boolean }
  | { readonly kind: 'remote'; readonly nextHops: readonly Address[] };

function inNodeSubnet(nh: number, cfg: KernelIntentConfig): boolean {
  const n = cfg.nodeAddress;
  if (n === undefined) return false;
  const m = mask4(n.length);
  // A /32 node address makes every peer cross-subnet (projectcalico/node#563): falls out of the mask.
  return ((nh & m) >>> 0) === ((n.address & m) >>> 0);
}

function nextHopFor(prefix: Prefix, nh: Address, pool: Pool | undefined, cfg: KernelIntentConfig): KernelNextHop {
  // IPv6 (and IPv4 over an IPv6 next hop): never tunnelled, the kernel resolves the gateway.
  if (typeof prefix !== 'number' || typeof nh !== 'number' || pool === undefined) return { gateway: nh, onlink: false };
  switch (pool.ipipMode) {
    case 'Always':
      return { gateway: nh, device: cfg.tunnelDevice, onlink: true };
    case 'CrossSubnet':
      if (inNodeSubnet(nh, cfg)) return cfg.nicDevice === undefined ? { gateway: nh, onlink: false } : { gateway: nh, device: cfg.nicDevice, onlink: false };
      return { gateway: nh, device: cfg.tunnelDevice, onlink: true };
    case 'Never':
      return { gateway: nh, onlink: false };
    default: {
      const never: never = pool.ipipMode;
      throw new Error(`unknown ipip mode ${String(never)}`);
    }
  }
}

/** The kernel route for a prefix, or null when the kernel must not hold one. */
export function kernelRouteFor(prefix: Prefix, src: KernelSource | null, cfg: KernelIntentConfig): KernelRoute | null {
  if (src === null) return null;
  if (src.kind === 'local') {
    // calico.md §1.8: host-length blocks get no blackhole (the CNI needs the /32 device route).
    const host = typeof prefix === 'number' ? 32 : 128;
    return src.block && prefixLength(prefix) < host ? { kind: 'blackhole', prefix } : null;
  }
  if (src.nextHops.length === 0) return null;
  const pool = findPool(prefix, cfg.pools);
  // §1.7: "VXLAN routes are handled by Felix" — announced, never programmed.
  if (pool !== undefined && pool.vxlanMode !== 'Never') return null;
  if (src.nextHops.length === 1) return { kind: 'unicast', prefix, nextHops: [nextHopFor(prefix, src.nextHops[0]!, pool, cfg)] };
  // ECMP: sorted so the same set always yields the same route (no spurious kernel replaces).
  const hops = [...src.nextHops].sort(compareAddress).map((nh) => nextHopFor(prefix, nh, pool, cfg));
  return { kind: 'unicast', prefix, nextHops: hops };
}

export function kernelRoutesEqual(a: KernelRoute | null, b: KernelRoute | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind || a.prefix !== b.prefix) return false;
  if (a.kind === 'blackhole' || b.kind === 'blackhole') return a.kind === b.kind;
  if (a.nextHops.length !== b.nextHops.length) return false;
  for (let i = 0; i < a.nextHops.length; i++) {
    const x = a.nextHops[i]!;
    const y = b.nextHops[i]!;
    if (x.gateway !== y.gateway || x.device !== y.device || x.onlink !== y.onlink) return false;
  }
  return true;
}

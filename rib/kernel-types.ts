/**
 * The kernel route intent: what the FIB should hold for one prefix, computed by rib/ from the
 * Loc-RIB and the pools, applied by src/kernel. Keyed by prefix; table and protocol come from
 * config and are the same for every route wren owns.
 */
import type { Prefix } from '../proto/prefix.js';
import type { Address } from '../proto/types.js';

export interface KernelNextHop {
  /** IPv4 as u32, IPv6 as RFC 5952 text. */
  readonly gateway: Address;
  /** Output device by name (tunl0 for IPIP, the node NIC for a CrossSubnet direct route); absent: let the kernel resolve. */
  readonly device?: string;
  /** RTNH_F_ONLINK: the gateway is not on the device's subnet (IPIP routes via tunl0). */
  readonly onlink: boolean;
}

export type KernelRoute =
  /** A local IPAM block: unallocated addresses are dropped, not looped back out. */
  | { readonly kind: 'blackhole'; readonly prefix: Prefix }
  /** A remote route: one next hop, or several for ECMP. */
  | { readonly kind: 'unicast'; readonly prefix: Prefix; readonly nextHops: readonly KernelNextHop[] };

/** One change of intent: `route` null means the prefix must no longer be in the kernel. */
export interface KernelChange {
  readonly prefix: Prefix;
  readonly route: KernelRoute | null;
}

/**
 * The RIB's typed interface (style.md §7.1): `RibInput` in, `RibOutput` out. Message-shaped so the
 * RIB could move into a worker_thread without redesign (OpenBGPD SE/RDE split).
 */
import type { Prefix } from '../proto/prefix.js';
import type { Address, Family, PathAttributes, UpdateMessage } from '../proto/types.js';
import type { KernelChange } from './kernel-types.js';
import type { ExportPolicy, Pool } from './policy.js';

/** What the RIB needs about a session: static config plus what OPEN negotiated. */
export interface PeerConfig {
  /** Stable key across sessions (the neighbour address as configured). */
  readonly id: string;
  readonly address: Address;
  /** Remote AS. iBGP when equal to `localAsn`. */
  readonly asn: number;
  /** The AS we present on this session (BGPPeer localASNumber, else the global AS). */
  readonly localAsn: number;
  /** The peer's BGP Identifier from its OPEN. */
  readonly routerId: number;
  /** Our IPv4 address on the session: next-hop-self for IPv4. */
  readonly localAddress: Address;
  /** Our global IPv6 address: next-hop-self for IPv6. */
  readonly localAddressV6?: string;
  /** Families negotiated (RFC 4760). */
  readonly families: readonly Family[];
  readonly rrClient: boolean;
  /** Calico BGPPeer nextHopMode. */
  readonly nextHopMode: 'auto' | 'self' | 'keep';
  /** RFC 7911: families where the peer sends path ids to us. */
  readonly addPathReceive: readonly Family[];
  /** RFC 7911: families where we send path ids to the peer. */
  readonly addPathSend: readonly Family[];
  /** What ADD-PATH send advertises: the ECMP set or every eligible path. */
  readonly addPathSendMode: 'multipath' | 'all';
  /** The peer's RFC 4724 capability, when it advertised one. */
  readonly gracefulRestart?: {
    readonly restartTimeSec: number;
    readonly families: readonly { readonly family: Family; readonly forwardingPreserved: boolean }[];
  };
  /** RFC 7313 negotiated. */
  readonly enhancedRouteRefresh: boolean;
  /** Keep the pre-policy Adj-RIB-In (soft reconfiguration inbound). */
  readonly softReconfigIn: boolean;
  /** Per-family prefix limit (RFC 4486 §4). */
  readonly maxPrefix?: { readonly limit: number; readonly action: 'warn' | 'teardown' };
  /** Calico numAllowedLocalASNumbers: accept our AS this many times in AS_PATH. */
  readonly allowOwnAs: number;
  /**
   * RFC 4271 §6.3 on an eBGP session: an UPDATE whose AS_PATH does not start with `asn` is treated
   * as a withdraw (RFC 7606 §7.2). Absent: off (a route server peer does not prepend its AS).
   */
  readonly enforceFirstAs?: boolean;
}

/** Import policy: the attributes to keep for this route, or null to reject. Pure. */
export type ImportPolicy = (prefix: Prefix, attrs: PathAttributes, peer: PeerConfig) => PathAttributes | null;

export type RibTimer =
  /** RFC 4724 §4.2: the peer's Restart Time, from its session loss. */
  | { readonly kind: 'restart'; readonly peer: string }
  /** RFC 4724 §4.2: how long stale routes may wait for End-of-RIB after re-establishment. */
  | { readonly kind: 'stalePath'; readonly peer: string }
  /** RFC 4724 §4.1: the restarting speaker's Selection_Deferral_Timer. */
  | { readonly kind: 'selectionDeferral' };

export type RibInput =
  | { readonly type: 'start' }
  | { readonly type: 'peerUp'; readonly peer: PeerConfig }
  | { readonly type: 'peerDown'; readonly peer: string; readonly graceful: boolean }
  | { readonly type: 'update'; readonly peer: string; readonly message: UpdateMessage; readonly treatAsWithdraw?: boolean }
  | { readonly type: 'endOfRib'; readonly peer: string; readonly family: Family }
  /** A ROUTE-REFRESH received from the peer (RFC 2918; RFC 7313 subtypes BoRR/EoRR). */
  | { readonly type: 'routeRefresh'; readonly peer: string; readonly family: Family; readonly subtype: number }
  /** We want the peer's routes re-evaluated (clear soft in). */
  | { readonly type: 'refreshIn'; readonly peer: string; readonly family: Family }
  /**
   * New import settings (allowOwnAs) of an established peer, applied without a session reset:
   * routes the new settings refuse are withdrawn now; follow with refreshIn per family to get back
   * the routes the old settings refused.
   */
  | { readonly type: 'peerImport'; readonly peer: PeerConfig }
  /**
   * New export settings (route-reflector-client, next-hop mode) of an established peer, applied
   * without a session reset and without touching its Adj-RIB-In: its Adj-RIB-Out is recomputed,
   * and every peer's when `everyPeer` (a client flag decides reflection of the peer's own routes
   * to the others too, RFC 4456 §8). Only differences are sent.
   */
  | { readonly type: 'peerExport'; readonly peer: PeerConfig; readonly everyPeer: boolean }
  | { readonly type: 'originate'; readonly prefixes: readonly Prefix[]; readonly kind: 'block' | 'static' }
  | { readonly type: 'withdrawLocal'; readonly prefixes: readonly Prefix[] }
  | {
      readonly type: 'policyChanged';
      readonly exportPolicy?: ExportPolicy;
      readonly pools?: readonly Pool[];
      readonly importPolicy?: ImportPolicy | null;
    }
  | { readonly type: 'timer'; readonly timer: RibTimer };

export type RibAction =
  | { readonly type: 'setTimer'; readonly timer: RibTimer; readonly atMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: RibTimer }
  /** Send ROUTE-REFRESH (RFC 2918 / RFC 7313 §3 subtype). */
  | { readonly type: 'sendRouteRefresh'; readonly peer: string; readonly afi: number; readonly safi: number; readonly subtype: number }
  /** Close the session with NOTIFICATION (code, subcode, data). */
  | { readonly type: 'teardown'; readonly peer: string; readonly code: number; readonly subcode: number; readonly data: Uint8Array; readonly reason: string }
  | { readonly type: 'maxPrefixWarning'; readonly peer: string; readonly family: Family; readonly limit: number; readonly count: number }
  /** An UPDATE failed the first-AS check (RFC 4271 §6.3) and was treated as a withdraw of its `prefixes` NLRI. */
  | { readonly type: 'firstAsMismatch'; readonly peer: string; readonly peerAs: number; readonly firstAs: number | null; readonly prefixes: number }
  /** RFC 4724 §4.1 deferral over: reconcile the kernel against `kernelSnapshot()` and prune. */
  | { readonly type: 'kernelPrune' }
  /** Kernel intent inputs changed (pools): reconcile against `kernelSnapshot()`. */
  | { readonly type: 'kernelReconcile' }
  | { readonly type: 'selectionDeferralComplete'; readonly reason: 'endOfRib' | 'timeout' };

/** One group of an UPDATE stream: prefixes sharing one interned attribute set (BIRD bgp_bucket). */
export interface UpdateGroup {
  readonly attrs: PathAttributes;
  readonly nextHop: Address;
  readonly linkLocal?: string;
  readonly prefixes: Prefix[];
  /** RFC 7911, parallel to `prefixes`, only towards ADD-PATH send peers. */
  readonly pathIds?: number[];
}

/** Changes for one peer and family, for `packUpdates`: withdrawals go first, then groups. */
export interface PeerUpdate {
  readonly peer: string;
  readonly family: Family;
  /** RFC 7313: send BoRR before this batch. */
  readonly borr: boolean;
  readonly withdrawn: Prefix[];
  readonly withdrawnPathIds?: number[];
  readonly groups: UpdateGroup[];
  /** RFC 7313: send EoRR after this batch. */
  readonly eorr: boolean;
  /** RFC 4724 §2: send End-of-RIB after this batch (initial table complete). */
  readonly endOfRib: boolean;
}

export interface RibOutput {
  readonly updates: PeerUpdate[];
  readonly kernel: KernelChange[];
  readonly actions: RibAction[];
  /** More work is queued: call `drain` again on a later tick. */
  readonly more: boolean;
}

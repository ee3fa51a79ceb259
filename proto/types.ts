/**
 * The typed values of the BGP-4 wire protocol: what proto/ decodes to and encodes from.
 * Discriminated on `type`. Addresses: IPv4 as an unsigned 32-bit number, IPv6 as RFC 5952 text
 * (next hops are per attribute set, not per prefix, so text costs nothing on the hot path).
 */
import type { Prefix, Prefix4 } from './prefix.js';
import type { AsPathSegmentTypeCode, OriginCode } from './constants.js';
import type { BgpError } from './errors.js';

/** IPv4 address as u32, or IPv6 address as RFC 5952 text. */
export type Address = number | string;

/** An address family as one number: (AFI << 8) | SAFI. */
export type Family = number;
export const Family = {
  Ipv4Unicast: (1 << 8) | 1,
  Ipv6Unicast: (2 << 8) | 1,
} as const;
export function family(afi: number, safi: number): Family {
  return ((afi & 0xffff) << 8) | (safi & 0xff);
}
export function familyAfi(f: Family): number {
  return f >>> 8;
}
export function familySafi(f: Family): number {
  return f & 0xff;
}
export function familyName(f: Family): string {
  if (f === Family.Ipv4Unicast) return 'ipv4-unicast';
  if (f === Family.Ipv6Unicast) return 'ipv6-unicast';
  return `afi${familyAfi(f)}-safi${familySafi(f)}`;
}

/**
 * What the decoder and encoder need to know about the session (holo's DecodeCxt). Build one per
 * direction: `addPath` is the set of families that carry path identifiers *in that direction*.
 */
export interface CodecContext {
  /** RFC 6793: both sides advertised the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** RFC 8654: both sides advertised Extended Message (65535-byte messages). */
  readonly extendedMessage: boolean;
  /** RFC 7911: families whose NLRI carry a 4-octet Path Identifier in this direction. */
  readonly addPath: ReadonlySet<Family>;
  /** RFC 8950: families whose NLRI may carry an IPv6 next hop (IPv4 unicast over IPv6). */
  readonly extendedNextHop?: ReadonlySet<Family>;
}

export const DEFAULT_CONTEXT: CodecContext = Object.freeze({
  fourOctetAs: false,
  extendedMessage: false,
  addPath: new Set<Family>(),
});

// --- capabilities (RFC 5492) -----------------------------------------------------------------

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** F bit: forwarding state preserved across the restart. */
  readonly forwardingPreserved: boolean;
}

export interface AddPathFamily {
  readonly afi: number;
  readonly safi: number;
  /** RFC 7911 §4: 1 receive, 2 send, 3 both. */
  readonly mode: number;
}

export interface ExtendedNextHopEntry {
  readonly afi: number;
  readonly safi: number;
  readonly nextHopAfi: number;
}

export type Capability =
  | { readonly type: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly type: 'route-refresh' }
  /** Code 128: the pre-standard route refresh some speakers still send. */
  | { readonly type: 'route-refresh-legacy' }
  | { readonly type: 'enhanced-route-refresh' }
  | { readonly type: 'four-octet-as'; readonly asn: number }
  | {
      readonly type: 'graceful-restart';
      /** R bit: the sender has restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538): graceful notification supported. */
      readonly notification: boolean;
      readonly restartTimeSec: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly type: 'add-path'; readonly families: readonly AddPathFamily[] }
  | { readonly type: 'extended-message' }
  | { readonly type: 'extended-next-hop'; readonly entries: readonly ExtendedNextHopEntry[] }
  | { readonly type: 'fqdn'; readonly hostname: string; readonly domain: string }
  /** Anything else, kept as raw bytes (RFC 5492 §3: unknown capabilities are ignored, not fatal). */
  | { readonly type: 'unknown'; readonly code: number; readonly value: Uint8Array };

export type OptionalParameter =
  | { readonly type: 'capabilities'; readonly capabilities: readonly Capability[] }
  | { readonly type: 'unknown'; readonly code: number; readonly value: Uint8Array };

// --- messages --------------------------------------------------------------------------------

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets). */
  readonly myAs: number;
  readonly holdTimeSec: number;
  /** BGP Identifier as u32. */
  readonly bgpId: number;
  /** In wire order; each capabilities parameter may hold one or many capabilities. */
  readonly params: readonly OptionalParameter[];
  /** RFC 9072: the parameters were (or must be) written with the extended length format. */
  readonly extendedParams?: boolean;
}

export type AsPathSegment = { readonly type: AsPathSegmentTypeCode; readonly asns: readonly number[] };

export interface Aggregator {
  readonly asn: number;
  readonly address: number;
}

/** An attribute this speaker does not know, carried as received (flags include Partial if set). */
export interface UnknownAttribute {
  readonly flags: number;
  readonly typeCode: number;
  readonly value: Uint8Array;
}

/**
 * Path attributes other than MP_REACH_NLRI / MP_UNREACH_NLRI (those carry NLRI and live on the
 * UpdateMessage). Absent means not present in the message.
 */
export interface PathAttributes {
  readonly origin?: OriginCode;
  /** As on the wire: 2-octet ASNs when the session is not 4-octet (see as4.ts to reconstruct). */
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: number;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  readonly communities?: readonly number[];
  readonly originatorId?: number;
  readonly clusterList?: readonly number[];
  /** 8-octet extended communities, each as an owned 8-byte array. */
  readonly extendedCommunities?: readonly Uint8Array[];
  readonly as4Path?: readonly AsPathSegment[];
  readonly as4Aggregator?: Aggregator;
  /** RFC 8092: [global administrator, local data 1, local data 2]. */
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  readonly unknown?: readonly UnknownAttribute[];
}

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** The global next hop (IPv6 text, or u32 for an IPv4 next hop). */
  readonly nextHop: Address;
  /** RFC 2545 §3: an optional IPv6 link-local next hop after the global one. */
  readonly linkLocal?: string;
  readonly nlri: readonly Prefix[];
  /** RFC 7911: one path identifier per NLRI entry, when ADD-PATH receive is on for the family. */
  readonly pathIds?: readonly number[];
}

export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
  readonly pathIds?: readonly number[];
}

export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: readonly Prefix4[];
  readonly withdrawnPathIds?: readonly number[];
  /** Null when the UPDATE carries no path attributes at all (a pure withdrawal or End-of-RIB). */
  readonly attrs: PathAttributes | null;
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  readonly nlri: readonly Prefix4[];
  readonly nlriPathIds?: readonly number[];
}

/**
 * What decodeUpdate returns besides the message: the RFC 7606 outcome. Errors of disposition
 * session-reset are thrown instead.
 */
export interface UpdateOutcome {
  readonly message: UpdateMessage;
  /** RFC 7606 §2: every NLRI in the message (reach and unreach) must be treated as withdrawn. */
  readonly treatAsWithdraw: boolean;
  /** RFC 7606 §2 AFI/SAFI disable: families to disable (or reset the session if that is not possible). */
  readonly disableFamilies: readonly Family[];
  /** Type codes of attributes discarded under RFC 7606 "attribute discard". */
  readonly discarded: readonly number[];
  /** The non-fatal errors found, for logging (RFC 7606 §8: MUST log). */
  readonly errors: readonly BgpError[];
  /** RFC 4724 §2: this UPDATE is the End-of-RIB marker for the family. */
  readonly endOfRib?: Family;
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** RFC 7313 §3: 0 normal request, 1 BoRR, 2 EoRR. */
  readonly subtype: number;
}

export type Message = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

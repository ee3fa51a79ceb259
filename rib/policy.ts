/**
 * Calico's routing policy as pure functions (calico.md §1.7 `calico_export_to_bgp_peers`, §1.8
 * `calico_aggr`), and the per-session attribute rewriting of RFC 4271 §5.1 / RFC 4456 §8.
 */
import type { Prefix } from '../proto/prefix.js';
import { prefixContains, prefixLength } from '../proto/prefix.js';
import type { Address, AsPathSegment, PathAttributes } from '../proto/types.js';
import { AsPathSegmentType, AttrFlag, WellKnownCommunity } from '../proto/constants.js';
import type { AttrSet } from './attrs.js';
import type { PeerKind } from './decision.js';

export const ENCAP_MODES = ['Always', 'CrossSubnet', 'Never'] as const;
export type EncapMode = (typeof ENCAP_MODES)[number];

export interface Pool {
  readonly cidr: Prefix;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly disableBgpExport: boolean;
}

export interface ExportPolicy {
  readonly pools: readonly Pool[];
  /** Extra CIDRs accepted for export (Calico static/service routes, §1.7 step 4). */
  readonly extraExport: readonly Prefix[];
  /**
   * Calico ends every peer export filter with `reject`: routes outside the pools are not exported.
   * A general-purpose speaker (no pools) wants them exported: set true.
   */
  readonly exportOutsidePools: boolean;
}

export const EXPORT_VERDICTS = ['accept', 'rejectDisabledPool', 'rejectUnderLocalBlock', 'rejectNotInPool'] as const;
export type ExportVerdict = (typeof EXPORT_VERDICTS)[number];

/** The most specific pool containing the prefix, if any. */
export function findPool(prefix: Prefix, pools: readonly Pool[]): Pool | undefined {
  if (pools.length === 0) return undefined;
  let found: Pool | undefined;
  for (const p of pools) {
    if (prefixContains(p.cidr, prefix) && (found === undefined || prefixLength(p.cidr) > prefixLength(found.cidr))) found = p;
  }
  return found;
}

/**
 * calico.md §1.7 in its order: (1) reject inside a disableBGPExport pool; (3, calico_aggr) accept
 * a local block itself, reject anything more specific under it (the workload /32s, /128s);
 * (4) accept static/service CIDRs; (6) accept inside a pool; otherwise reject.
 */
export function calicoExport(prefix: Prefix, policy: ExportPolicy, localBlocks: Iterable<Prefix>): ExportVerdict {
  // Index loops, and no iterator at all for an empty Set: this runs once per exported prefix.
  const pools = policy.pools;
  for (let i = 0; i < pools.length; i++) if (pools[i]!.disableBgpExport && prefixContains(pools[i]!.cidr, prefix)) return 'rejectDisabledPool';
  if (!(localBlocks instanceof Set && localBlocks.size === 0)) {
    for (const b of localBlocks) {
      if (b === prefix) return 'accept';
      if (prefixContains(b, prefix)) return 'rejectUnderLocalBlock';
    }
  }
  const extra = policy.extraExport;
  for (let i = 0; i < extra.length; i++) if (prefixContains(extra[i]!, prefix)) return 'accept';
  for (let i = 0; i < pools.length; i++) if (prefixContains(pools[i]!.cidr, prefix)) return 'accept';
  return policy.exportOutsidePools ? 'accept' : 'rejectNotInPool';
}

/** Who may receive a path (RFC 4271 §9.2, RFC 4456 §8), before per-prefix policy. */
export interface AdvertiseContext {
  readonly sourceKind: PeerKind;
  readonly sourceIsClient: boolean;
  readonly targetKind: 'ibgp' | 'ebgp';
  readonly targetIsClient: boolean;
  /** This speaker is a route reflector (has a cluster id). */
  readonly reflector: boolean;
}

export const ADVERTISE_VERDICTS = ['advertise', 'reflect', 'ibgpToIbgp', 'nonClientToNonClient'] as const;
export type AdvertiseVerdict = (typeof ADVERTISE_VERDICTS)[number];

export function advertiseRule(c: AdvertiseContext): AdvertiseVerdict {
  return advertiseRuleOf(c.sourceKind, c.sourceIsClient, c.targetKind, c.targetIsClient, c.reflector);
}

/** `advertiseRule` without the context object (the per-prefix hot path). */
export function advertiseRuleOf(sourceKind: PeerKind, sourceIsClient: boolean, targetKind: 'ibgp' | 'ebgp', targetIsClient: boolean, reflector: boolean): AdvertiseVerdict {
  if (sourceKind !== 'ibgp' || targetKind !== 'ibgp') return 'advertise';
  // RFC 4271 §9.2: iBGP-learned routes are not re-advertised to internal peers...
  if (!reflector) return 'ibgpToIbgp';
  // ...except by a reflector, RFC 4456 §8: from a client to all clients and non-clients; from a
  // non-client to clients only.
  if (sourceIsClient || targetIsClient) return 'reflect';
  return 'nonClientToNonClient';
}

/** RFC 1997: may this set go to this kind of peer at all? */
export function communitiesAllow(set: AttrSet, targetKind: 'ibgp' | 'ebgp'): boolean {
  const cs = set.attrs.communities;
  if (cs === undefined) return true;
  // Index loop: interned lists are frozen, and for-of over a frozen array allocates an iterator.
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === WellKnownCommunity.NoAdvertise) return false;
    if (targetKind === 'ebgp' && (c === WellKnownCommunity.NoExport || c === WellKnownCommunity.NoExportSubconfed)) return false;
  }
  return true;
}

export interface ExportTarget {
  readonly kind: 'ibgp' | 'ebgp';
  /** The AS we present on this session (RFC 4271 §5.1.2 prepends it). */
  readonly localAsn: number;
  /** Our address on the session, for next-hop-self. */
  readonly selfNextHop: Address;
  readonly nextHopMode: 'auto' | 'self' | 'keep';
}

export interface ExportSource {
  readonly kind: PeerKind;
  readonly routerId: number;
}

export interface ExportedAttrs {
  readonly attrs: PathAttributes;
  readonly nextHop: Address;
}

// Exact-size copies by index: `concat`/`slice`/spread take slow generic paths on frozen arrays
// (measured ~10x), and push-grown arrays keep spare capacity once interned.
function prepend<T>(v: T, l: readonly T[]): T[] {
  const r = new Array<T>(l.length + 1);
  r[0] = v;
  for (let i = 0; i < l.length; i++) r[i + 1] = l[i]!;
  return r;
}

function copyList<T>(l: readonly T[]): T[] {
  const r = new Array<T>(l.length);
  for (let i = 0; i < l.length; i++) r[i] = l[i]!;
  return r;
}

/**
 * The attributes sent for one (set, source, target): RFC 4271 §5.1.2-§5.1.5 and RFC 4456 §8.
 * `reflect` is true when this is an iBGP→iBGP reflection; `clusterId` is ours.
 */
export function exportAttrs(set: AttrSet, source: ExportSource, target: ExportTarget, reflect: boolean, clusterId: number | undefined): ExportedAttrs {
  const a = set.attrs;
  // Built field by field (no spread and `delete`: that leaves a dictionary-mode object which is
  // then hashed, compared and copied; no spread of the frozen interned arrays either).
  const ebgp = target.kind === 'ebgp';
  const out: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  if (a.origin !== undefined) out.origin = a.origin;
  if (a.asPath !== undefined) out.asPath = a.asPath;
  if (a.nextHop !== undefined) out.nextHop = a.nextHop;
  // §5.1.4: a MED received from a neighbouring AS MUST NOT be propagated to other ASes; a
  // locally originated MED may be sent.
  if (a.med !== undefined && (!ebgp || source.kind === 'local')) out.med = a.med;
  // §5.1.5: LOCAL_PREF MUST NOT be sent to external peers (and is set below for internal ones).
  if (a.localPref !== undefined && !ebgp) out.localPref = a.localPref;
  if (a.atomicAggregate !== undefined) out.atomicAggregate = a.atomicAggregate;
  if (a.aggregator !== undefined) out.aggregator = a.aggregator;
  if (a.communities !== undefined) out.communities = a.communities;
  // RFC 4456: ORIGINATOR_ID and CLUSTER_LIST are optional non-transitive, internal to the AS.
  if (a.originatorId !== undefined && !ebgp) out.originatorId = a.originatorId;
  if (a.clusterList !== undefined && !ebgp) out.clusterList = a.clusterList;
  if (a.extendedCommunities !== undefined) out.extendedCommunities = a.extendedCommunities;
  if (a.as4Path !== undefined) out.as4Path = a.as4Path;
  if (a.as4Aggregator !== undefined) out.as4Aggregator = a.as4Aggregator;
  if (a.largeCommunities !== undefined) out.largeCommunities = a.largeCommunities;
  // RFC 4271 §5: unrecognised non-transitive optional attributes are not passed on; transitive
  // ones are, with the Partial bit set.
  if (a.unknown !== undefined) {
    const kept = a.unknown.filter((u) => (u.flags & AttrFlag.Transitive) !== 0).map((u) => ({ ...u, flags: u.flags | AttrFlag.Partial }));
    if (kept.length > 0) out.unknown = kept;
  }
  let nextHop = set.nextHop;
  if (ebgp) {
    // §5.1.2: prepend our AS as the leftmost AS_SEQUENCE entry (new segment if the first is a SET).
    // Exact-size arrays (they are interned as they are: push-grown ones keep spare capacity).
    const old = a.asPath ?? [];
    const first = old[0];
    let path: AsPathSegment[];
    if (first !== undefined && first.type === AsPathSegmentType.Sequence && first.asns.length < 255) {
      path = copyList(old);
      path[0] = { type: AsPathSegmentType.Sequence, asns: prepend(target.localAsn, first.asns) };
    } else {
      path = prepend<AsPathSegment>({ type: AsPathSegmentType.Sequence, asns: [target.localAsn] }, old);
    }
    out.asPath = path;
    // §5.1.3: next hop self towards eBGP unless told to keep it (Calico nextHopMode: Keep).
    if (target.nextHopMode !== 'keep') nextHop = target.selfNextHop;
  } else {
    // §5.1.5: LOCAL_PREF MUST be included towards internal peers.
    out.localPref = set.localPref;
    // §5.1.3: unchanged for learned and reflected routes; self for locally originated ones or
    // when forced.
    if (source.kind === 'local' || target.nextHopMode === 'self') nextHop = target.selfNextHop;
    if (reflect && clusterId !== undefined) {
      // RFC 4456 §8: set ORIGINATOR_ID if absent (the originator's router id) and prepend our
      // CLUSTER_ID to CLUSTER_LIST.
      if (out.originatorId === undefined) out.originatorId = source.routerId;
      out.clusterList = a.clusterList === undefined ? [clusterId] : prepend(clusterId, a.clusterList);
    }
  }
  return { attrs: out, nextHop };
}

// diffConfig(old, new): what a reload must do, as typed changes. Pure.
//
// Sessions are compared as effective neighbours (neighbors.ts), so a change anywhere that alters
// a session — a global timer, node-address (source address), mesh.password — shows up on exactly
// the sessions it touches. Only the fields in PEER_FIELD_EFFECTS marked 'reset' restart a session
// (Cease / Other Configuration Change, RFC 4486 subcode 6); 'refresh' fields (import rules) are
// applied with a ROUTE-REFRESH (RFC 2918) when the session negotiated it, and reset it only when
// it did not; removed peers get Cease / Peer De-configured (subcode 3). Policy-only changes never reset: BIRD 1.6 resets on every non-filter
// option change and early Calico flapped every session on reload (calico.md §1.10, calicoctl#136);
// wren resets only what the wire or the socket forces.

import { neighbors, type Neighbor } from './neighbors.js';
import type {
  Config,
  ControlConfig,
  Endpoint,
  GracefulRestartConfig,
  KernelConfig,
  LogLevel,
  PoolConfig,
  Prefix,
  TimersConfig,
} from './types.js';

/** Fields that identify a session (they are in its name) or are derived from others. */
type IdentityField = 'name' | 'kind' | 'peerType' | 'address' | 'family' | 'internal';
export type NeighborField = Exclude<keyof Neighbor, IdentityField>;

export type FieldEffect = 'reset' | 'refresh' | 'reexport' | 'live';

/**
 * The one list of what a changed session parameter requires. 'reset': the session restarts;
 * 'refresh': import is re-run — the new rules apply to what is held and ROUTE-REFRESH (RFC 2918)
 * asks the peer for its routes again; a session without Route Refresh is reset instead;
 * 'reexport': the Adj-RIB-Out is recomputed, the session stays; 'live': applied in place.
 */
export const PEER_FIELD_EFFECTS = {
  port: { effect: 'reset', why: 'the TCP connection goes to a different port' },
  sourceAddress: { effect: 'reset', why: 'the TCP connection is bound to its source address' },
  password: { effect: 'reset', why: 'the TCP-MD5 key (RFC 2385) signs every segment of the connection' },
  ttlSecurityHops: { effect: 'reset', why: 'GTSM (RFC 5082) TTL and minimum TTL are set when the socket is created' },
  asn: { effect: 'reset', why: "the peer's AS is checked against its OPEN (RFC 4271 §6.2)" },
  localAsn: { effect: 'reset', why: 'our AS is sent in OPEN (RFC 4271 §4.2, RFC 6793 capability)' },
  holdTimeSec: { effect: 'reset', why: 'the hold time is proposed in OPEN and negotiated once per session (RFC 4271 §4.2)' },
  addPath: { effect: 'reset', why: 'ADD-PATH is a capability negotiated in OPEN (RFC 7911 §4)' },
  gracefulRestart: { effect: 'reset', why: 'Graceful Restart and its restart time are a capability in OPEN (RFC 4724 §3)' },
  clusterId: {
    effect: 'refresh',
    why: 'the CLUSTER_LIST loop check (RFC 4456 §8) was applied at import and dropped routes were not kept: ROUTE-REFRESH (RFC 2918) asks for them again; without Route Refresh only a new session resends them',
  },
  allowLocalAs: {
    effect: 'refresh',
    why: 'routes refused by the AS_PATH loop check were not kept: held routes are re-checked and ROUTE-REFRESH (RFC 2918) asks for the rest again; without Route Refresh only a new session resends them',
  },
  enforceFirstAs: {
    effect: 'refresh',
    why: 'UPDATEs failing the first-AS check (RFC 4271 §6.3) were treated as withdraws and not kept: held routes are re-checked and ROUTE-REFRESH (RFC 2918) asks for the rest again',
  },
  routeReflectorClient: {
    effect: 'reexport',
    why: 'reflection (RFC 4456 §6) is decided at export: every Adj-RIB-Out is recomputed',
  },
  nextHop: { effect: 'reexport', why: "NEXT_HOP rewriting is export policy: this peer's Adj-RIB-Out is recomputed" },
  passive: { effect: 'live', why: 'only decides who opens the next connection; an established session is unaffected' },
  keepaliveSec: { effect: 'live', why: 'a local timer, not negotiated (RFC 4271 §4.4); re-armed with the new interval' },
  connectRetrySec: { effect: 'live', why: 'applies to the next connection attempt' },
  connectDelaySec: { effect: 'live', why: 'applies to the next start' },
  errorWaitMinSec: { effect: 'live', why: 'applies to the next error back-off' },
  errorWaitMaxSec: { effect: 'live', why: 'applies to the next error back-off' },
  maxPrefix: { effect: 'live', why: 'checked against the current Adj-RIB-In count; the action fires now if it is exceeded' },
  reachableBy: { effect: 'live', why: 'a kernel route to the peer, no BGP state' },
  enabled: { effect: 'live', why: 'false stops the session (Cease / Administrative Shutdown, RFC 4486 subcode 2); true starts it' },
} as const satisfies { readonly [K in NeighborField]: { readonly effect: FieldEffect; readonly why: string } };

export const RESET_FIELDS: readonly NeighborField[] = (Object.keys(PEER_FIELD_EFFECTS) as NeighborField[]).filter(
  (f) => PEER_FIELD_EFFECTS[f].effect === 'reset',
);

export const REFRESH_FIELDS: readonly NeighborField[] = (Object.keys(PEER_FIELD_EFFECTS) as NeighborField[]).filter(
  (f) => PEER_FIELD_EFFECTS[f].effect === 'refresh',
);

export type ConfigChange =
  /** router-id or asn changed: every session restarts (the identifier and AS are in every OPEN; BIRD does the same, calico.md §1.10). */
  | { readonly type: 'GlobalReset'; readonly reason: string; readonly fields: readonly ('routerId' | 'asn')[] }
  | { readonly type: 'PeerAdded'; readonly neighbor: Neighbor }
  /** close with Cease / Peer De-configured (RFC 4486 subcode 3) */
  | { readonly type: 'PeerRemoved'; readonly neighbor: Neighbor }
  | {
      readonly type: 'PeerChanged';
      readonly name: string;
      readonly fields: readonly NeighborField[];
      /** restart with Cease / Other Configuration Change (RFC 4486 subcode 6) */
      readonly needsReset: boolean;
      /**
       * import rules changed: re-check what is held and send ROUTE-REFRESH per family, or reset
       * (as needsReset) when the session did not negotiate Route Refresh (RFC 2918 §3)
       */
      readonly needsRefresh: boolean;
      /** recompute Adj-RIB-Out (all peers' when routeReflectorClient changed) */
      readonly needsReexport: boolean;
      readonly before: Neighbor;
      readonly after: Neighbor;
    }
  /** re-run export and the kernel intent; no session resets */
  | {
      readonly type: 'PolicyChanged';
      readonly blocksAdded: readonly Prefix[];
      readonly blocksRemoved: readonly Prefix[];
      readonly poolsAdded: readonly PoolConfig[];
      readonly poolsRemoved: readonly PoolConfig[];
      readonly poolsChanged: readonly { readonly before: PoolConfig; readonly after: PoolConfig }[];
      /** node-address(-v6) subnet changed: IPIP CrossSubnet decisions change (calico.md §1.7) */
      readonly nodeNetworkChanged: boolean;
      /** this node became or stopped being a route reflector (export rules differ, calico.md §1.7) */
      readonly routeReflectorChanged: boolean;
    }
  | { readonly type: 'ListenChanged'; readonly before: Endpoint; readonly after: Endpoint }
  | {
      readonly type: 'ControlChanged';
      readonly fields: readonly (keyof ControlConfig)[];
      readonly before: ControlConfig;
      readonly after: ControlConfig;
    }
  | { readonly type: 'LogLevelChanged'; readonly before: LogLevel; readonly after: LogLevel }
  | {
      readonly type: 'KernelChanged';
      readonly fields: readonly (keyof KernelConfig)[];
      readonly before: KernelConfig;
      readonly after: KernelConfig;
    }
  /** global timers changed; `peers` are the sessions whose effective timers changed (each also has a PeerChanged) */
  | { readonly type: 'TimersChanged'; readonly fields: readonly (keyof TimersConfig)[]; readonly peers: readonly string[] }
  | {
      readonly type: 'GracefulRestartChanged';
      readonly fields: readonly (keyof GracefulRestartConfig)[];
      readonly before: GracefulRestartConfig;
      readonly after: GracefulRestartConfig;
    }
  | { readonly type: 'MetricsChanged'; readonly before: Endpoint | undefined; readonly after: Endpoint | undefined };

export type ConfigChangeType = ConfigChange['type'];

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in b && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function changedKeys<T extends object>(a: T, b: T): (keyof T)[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof T)[]);
  return [...keys].filter((k) => !equal(a[k], b[k]));
}

const TIMER_FIELDS = new Set<NeighborField>([
  'holdTimeSec',
  'keepaliveSec',
  'connectRetrySec',
  'connectDelaySec',
  'errorWaitMinSec',
  'errorWaitMaxSec',
]);

/**
 * Changes in a fixed order: GlobalReset, PeerRemoved, PeerChanged, PeerAdded, then the rest. A
 * daemon applying a GlobalReset restarts every session and may skip the per-peer resets.
 */
export function diffConfig(before: Config, after: Config): ConfigChange[] {
  const out: ConfigChange[] = [];

  const resetFields: ('routerId' | 'asn')[] = [];
  const reasons: string[] = [];
  if (before.routerId !== after.routerId) {
    resetFields.push('routerId');
    reasons.push(`router-id ${before.routerId} -> ${after.routerId}`);
  }
  if (before.asn !== after.asn) {
    resetFields.push('asn');
    reasons.push(`asn ${before.asn} -> ${after.asn}`);
  }
  if (resetFields.length > 0) out.push({ type: 'GlobalReset', reason: reasons.join(', '), fields: resetFields });

  const oldN = new Map(neighbors(before).map((n) => [n.name, n]));
  const newN = new Map(neighbors(after).map((n) => [n.name, n]));
  const changed: ConfigChange[] = [];
  const timerPeers: string[] = [];
  for (const [name, n] of oldN) if (!newN.has(name)) out.push({ type: 'PeerRemoved', neighbor: n });
  for (const [name, a] of newN) {
    const b = oldN.get(name);
    if (b === undefined) continue;
    const fields = (changedKeys(b, a) as (keyof Neighbor)[]).filter(
      (f): f is NeighborField => f in PEER_FIELD_EFFECTS,
    );
    if (fields.length === 0) continue;
    if (fields.some((f) => TIMER_FIELDS.has(f))) timerPeers.push(name);
    changed.push({
      type: 'PeerChanged',
      name,
      fields,
      needsReset: fields.some((f) => PEER_FIELD_EFFECTS[f].effect === 'reset'),
      needsRefresh: fields.some((f) => PEER_FIELD_EFFECTS[f].effect === 'refresh'),
      needsReexport: fields.some((f) => PEER_FIELD_EFFECTS[f].effect === 'reexport'),
      before: b,
      after: a,
    });
  }
  out.push(...changed);
  for (const [name, n] of newN) if (!oldN.has(name)) out.push({ type: 'PeerAdded', neighbor: n });

  const policy = diffPolicy(before, after);
  if (policy !== undefined) out.push(policy);

  if (!equal(before.listen, after.listen)) out.push({ type: 'ListenChanged', before: before.listen, after: after.listen });
  const controlFields = changedKeys(before.control, after.control);
  if (controlFields.length > 0) {
    out.push({ type: 'ControlChanged', fields: controlFields, before: before.control, after: after.control });
  }
  if (before.log.level !== after.log.level) {
    out.push({ type: 'LogLevelChanged', before: before.log.level, after: after.log.level });
  }
  const kernelFields = changedKeys(before.kernel, after.kernel);
  if (kernelFields.length > 0) out.push({ type: 'KernelChanged', fields: kernelFields, before: before.kernel, after: after.kernel });
  const timerFields = changedKeys(before.timers, after.timers);
  if (timerFields.length > 0) out.push({ type: 'TimersChanged', fields: timerFields, peers: timerPeers });
  const grFields = changedKeys(before.gracefulRestart, after.gracefulRestart);
  if (grFields.length > 0) {
    out.push({ type: 'GracefulRestartChanged', fields: grFields, before: before.gracefulRestart, after: after.gracefulRestart });
  }
  if (!equal(before.metrics.listen, after.metrics.listen)) {
    out.push({ type: 'MetricsChanged', before: before.metrics.listen, after: after.metrics.listen });
  }
  return out;
}

function diffPolicy(before: Config, after: Config): ConfigChange | undefined {
  const oldBlocks = new Set(before.blocks.map((b) => b.cidr));
  const newBlocks = new Set(after.blocks.map((b) => b.cidr));
  const blocksAdded = after.blocks.filter((b) => !oldBlocks.has(b.cidr));
  const blocksRemoved = before.blocks.filter((b) => !newBlocks.has(b.cidr));
  const oldPools = new Map(before.pools.map((p) => [p.cidr.cidr, p]));
  const newPools = new Map(after.pools.map((p) => [p.cidr.cidr, p]));
  const poolsAdded = after.pools.filter((p) => !oldPools.has(p.cidr.cidr));
  const poolsRemoved = before.pools.filter((p) => !newPools.has(p.cidr.cidr));
  const poolsChanged = after.pools.flatMap((a) => {
    const b = oldPools.get(a.cidr.cidr);
    return b !== undefined && !equal(a, b) ? [{ before: b, after: a }] : [];
  });
  const nodeNetworkChanged =
    before.nodeAddress.network !== after.nodeAddress.network ||
    before.nodeAddressV6?.network !== after.nodeAddressV6?.network;
  const routeReflectorChanged = !equal(before.routeReflector, after.routeReflector);
  if (
    blocksAdded.length + blocksRemoved.length + poolsAdded.length + poolsRemoved.length + poolsChanged.length === 0 &&
    !nodeNetworkChanged &&
    !routeReflectorChanged
  ) {
    return undefined;
  }
  return {
    type: 'PolicyChanged',
    blocksAdded,
    blocksRemoved,
    poolsAdded,
    poolsRemoved,
    poolsChanged,
    nodeNetworkChanged,
    routeReflectorChanged,
  };
}

/**
 * The BGP decision process: RFC 4271 §9.1.2 (with §9.1.2.2 tie breaking) as modified by RFC 4456
 * §9, plus BIRD's rule that locally originated routes beat learned ones (static preference 200 >
 * BGP 100). Pure: options and the next-hop resolver are passed in, never module state.
 *
 * Selection is by *elimination over the whole candidate set*, step by step, exactly as §9.1.2.2 is
 * written. That matters for MED: compared only between paths from the same neighbouring AS, MED is
 * not transitive, so a pairwise "keep the running best" scan depends on arrival order (the classic
 * deterministic-MED problem). Elimination does not: the result is a function of the set.
 * `compare(a, b)` is the two-path special case, used to explain a choice.
 */
import type { Address } from '../proto/types.js';
import { parseIpv6 } from '../proto/prefix.js';
import type { AttrSet } from './attrs.js';

export type PeerKind = 'local' | 'ibgp' | 'ebgp';

/** What the decision needs to know about where a path came from. */
export interface PathSource {
  readonly kind: PeerKind;
  /** The peer's address (0 for local routes). */
  readonly address: Address;
  /** The peer's BGP Identifier (own router id for local routes). */
  readonly routerId: number;
}

export interface PathView {
  readonly set: AttrSet;
  readonly source: PathSource;
  /** RFC 7911 path identifier as received (0 without ADD-PATH). */
  readonly pathId: number;
}

/** Why the winner won: the step of the decision process that separated it (closed union). */
export const BEST_REASONS = [
  'only', 'local', 'localPref', 'asPathLength', 'origin', 'med', 'ebgpOverIbgp', 'igpCost',
  'clusterListLength', 'routerId', 'peerAddress', 'pathId', 'equal',
] as const;
export type BestReason = (typeof BEST_REASONS)[number];

/** Why a path cannot be selected at all (holo RouteIneligibleReason). */
export const INELIGIBLE_REASONS = ['asLoop', 'originatorIdLoop', 'clusterListLoop', 'nextHopUnresolvable', 'importRejected'] as const;
export type IneligibleReason = (typeof INELIGIBLE_REASONS)[number];

export interface NextHopResolution {
  readonly reachable: boolean;
  /** RFC 4271 §9.1.2.2 e): interior cost to the next hop. */
  readonly igpCost: number;
}
export type NextHopResolver = (nextHop: Address) => NextHopResolution;

export interface DecisionOptions {
  /** Compare MED between paths from different neighbouring ASes (BIRD `med metric`, FRR `always-compare-med`). */
  readonly alwaysCompareMed: boolean;
  /** Missing MED is the worst value instead of 0 (RFC 4271 §9.1.2.2 c) says 0; FRR `missing-as-worst`). */
  readonly missingMedAsWorst: boolean;
  /** ECMP: keep every path equal through the IGP-cost step, one per distinct next hop. */
  readonly multipath: boolean;
  /** Maximum number of multipath members (the kernel's limit is the practical one). */
  readonly maxPaths: number;
  /**
   * BIRD (`bgp_rte_better`) and FRR compare CLUSTER_LIST length before the router id; RFC 4456 §9
   * inserts it between steps f) and g), i.e. after. Default: the RFC.
   */
  readonly clusterListBeforeRouterId: boolean;
  /** Absent: every next hop is reachable at cost 0 (Calico: directly connected nodes). */
  readonly resolver?: NextHopResolver;
}

export const DEFAULT_DECISION_OPTIONS: DecisionOptions = Object.freeze({
  alwaysCompareMed: false,
  missingMedAsWorst: false,
  multipath: true,
  maxPaths: 16,
  clusterListBeforeRouterId: false,
});

export interface CompareResult {
  /** -1: `a` is better, 1: `b` is better, 0: indistinguishable. */
  readonly winner: -1 | 1 | 0;
  readonly reason: BestReason;
}

const MED_WORST = 0x1_0000_0000;

function effectiveMed(s: AttrSet, opts: DecisionOptions): number {
  if (s.med >= 0) return s.med;
  return opts.missingMedAsWorst ? MED_WORST : 0;
}

/** RFC 4456 §9: the ORIGINATOR_ID stands in for the advertising speaker's BGP Identifier. */
function effectiveRouterId(p: PathView): number {
  return p.set.originatorId >= 0 ? p.set.originatorId : p.source.routerId;
}

function igpCost(p: PathView, opts: DecisionOptions): number {
  return opts.resolver === undefined ? 0 : opts.resolver(p.set.nextHop).igpCost;
}

const v6Cache = new Map<string, string>();
function addressKey(a: string): string {
  let k = v6Cache.get(a);
  if (k === undefined) {
    const b = parseIpv6(a);
    k = b === null ? a : String.fromCharCode(...b);
    if (v6Cache.size > 4096) v6Cache.clear();
    v6Cache.set(a, k);
  }
  return k;
}

/** Numeric order of addresses: IPv4 before IPv6, each by value (RFC 4271 §9.1.2.2 g). */
export function compareAddress(a: Address, b: Address): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  if (a === b) return 0;
  const ka = addressKey(a);
  const kb = addressKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sign(n: number): -1 | 1 | 0 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Steps f) onward: a total order, so the tie-break is a plain sort comparator. */
function tieBreak(a: PathView, b: PathView, opts: DecisionOptions): CompareResult {
  if (opts.clusterListBeforeRouterId) {
    const c = a.set.clusterListLength - b.set.clusterListLength;
    if (c !== 0) return { winner: sign(c), reason: 'clusterListLength' };
  }
  // f) lowest BGP Identifier (ORIGINATOR_ID when present, RFC 4456 §9).
  const r = effectiveRouterId(a) - effectiveRouterId(b);
  if (r !== 0) return { winner: sign(r), reason: 'routerId' };
  // RFC 4456 §9: "a BGP Speaker SHOULD prefer a route with the shorter CLUSTER_LIST length".
  if (!opts.clusterListBeforeRouterId) {
    const c = a.set.clusterListLength - b.set.clusterListLength;
    if (c !== 0) return { winner: sign(c), reason: 'clusterListLength' };
  }
  // g) lowest peer address.
  const pa = compareAddress(a.source.address, b.source.address);
  if (pa !== 0) return { winner: sign(pa), reason: 'peerAddress' };
  // Not in the RFC: two ADD-PATH paths from one peer; lowest path id keeps the order total.
  const pi = a.pathId - b.pathId;
  if (pi !== 0) return { winner: sign(pi), reason: 'pathId' };
  return { winner: 0, reason: 'equal' };
}

/**
 * Steps up to and including e) (IGP cost): the "equal for multipath" prefix of the process.
 * Returns null when a and b tie through all of them.
 */
function comparePreTieBreak(a: PathView, b: PathView, opts: DecisionOptions): CompareResult | null {
  // BIRD: locally originated routes (preference 200) beat BGP routes (100).
  const la = a.source.kind === 'local' ? 0 : 1;
  const lb = b.source.kind === 'local' ? 0 : 1;
  if (la !== lb) return { winner: sign(la - lb), reason: 'local' };
  // RFC 4271 §9.1.1: degree of preference = LOCAL_PREF, higher wins.
  if (a.set.localPref !== b.set.localPref) return { winner: a.set.localPref > b.set.localPref ? -1 : 1, reason: 'localPref' };
  // a) shortest AS_PATH.
  if (a.set.asPathLength !== b.set.asPathLength) return { winner: sign(a.set.asPathLength - b.set.asPathLength), reason: 'asPathLength' };
  // b) lowest ORIGIN.
  if (a.set.origin !== b.set.origin) return { winner: sign(a.set.origin - b.set.origin), reason: 'origin' };
  // c) lowest MED, only between paths from the same neighbouring AS unless configured otherwise.
  if (opts.alwaysCompareMed || a.set.neighborAs === b.set.neighborAs) {
    const m = effectiveMed(a.set, opts) - effectiveMed(b.set, opts);
    if (m !== 0) return { winner: sign(m), reason: 'med' };
  }
  // d) eBGP over iBGP.
  const ea = a.source.kind === 'ebgp' ? 0 : 1;
  const eb = b.source.kind === 'ebgp' ? 0 : 1;
  if (ea !== eb) return { winner: sign(ea - eb), reason: 'ebgpOverIbgp' };
  // e) lowest interior cost to the next hop.
  const ic = igpCost(a, opts) - igpCost(b, opts);
  if (ic !== 0) return { winner: sign(ic), reason: 'igpCost' };
  return null;
}

/** Pairwise comparison, for explanations (`bgpctl show routes PREFIX`) and tests. */
export function compare(a: PathView, b: PathView, opts: DecisionOptions = DEFAULT_DECISION_OPTIONS): CompareResult {
  return comparePreTieBreak(a, b, opts) ?? tieBreak(a, b, opts);
}

export interface Selection {
  /** Index into the input of the best path, -1 when none is eligible. */
  readonly best: number;
  /** Why the best won (the last step that eliminated a competitor). */
  readonly reason: BestReason;
  /** Indices of the ECMP set, best first (just [best] without multipath); empty when no best. */
  readonly multipath: readonly number[];
  /** Per input path: the step that eliminated it, or why it was ineligible; the best gets its `reason`. */
  readonly outcome: readonly (BestReason | IneligibleReason)[];
}

type Step = (p: PathView) => number;

/**
 * RFC 4271 §9.1.2.2, by elimination. `ineligible[i]` (optional) marks paths already known
 * unusable (loops found at import); the resolver may add `nextHopUnresolvable`.
 */
export function select(
  paths: readonly PathView[],
  opts: DecisionOptions = DEFAULT_DECISION_OPTIONS,
  ineligible?: readonly (IneligibleReason | null)[],
): Selection {
  const outcome: (BestReason | IneligibleReason)[] = new Array<BestReason | IneligibleReason>(paths.length).fill('only');
  let live: number[] = [];
  for (let i = 0; i < paths.length; i++) {
    const bad = ineligible?.[i] ?? null;
    if (bad !== null) outcome[i] = bad;
    else if (opts.resolver !== undefined && !opts.resolver(paths[i]!.set.nextHop).reachable) outcome[i] = 'nextHopUnresolvable';
    else live.push(i);
  }
  if (live.length === 0) return { best: -1, reason: 'only', multipath: [], outcome };
  let reason: BestReason = 'only';
  const keepMin = (step: Step, why: BestReason): void => {
    if (live.length < 2) return;
    let min = Infinity;
    for (const i of live) min = Math.min(min, step(paths[i]!));
    const kept: number[] = [];
    for (const i of live) {
      if (step(paths[i]!) === min) kept.push(i);
      else outcome[i] = why;
    }
    if (kept.length !== live.length) reason = why;
    live = kept;
  };
  keepMin((p) => (p.source.kind === 'local' ? 0 : 1), 'local');
  keepMin((p) => -p.set.localPref, 'localPref');
  keepMin((p) => p.set.asPathLength, 'asPathLength');
  keepMin((p) => p.set.origin, 'origin');
  // c) RFC 4271 §9.1.2.2: "remove from consideration all routes ... [whose] MED is higher than
  // the lowest MED among routes from the same neighboring AS" — per group, not pairwise.
  if (live.length > 1) {
    const groupMin = new Map<number, number>();
    const group = (p: PathView): number => (opts.alwaysCompareMed ? 0 : p.set.neighborAs);
    for (const i of live) {
      const p = paths[i]!;
      const m = effectiveMed(p.set, opts);
      const g = group(p);
      const cur = groupMin.get(g);
      if (cur === undefined || m < cur) groupMin.set(g, m);
    }
    const kept = live.filter((i) => {
      const p = paths[i]!;
      if (effectiveMed(p.set, opts) === groupMin.get(group(p))) return true;
      outcome[i] = 'med';
      return false;
    });
    if (kept.length !== live.length) reason = 'med';
    live = kept;
  }
  keepMin((p) => (p.source.kind === 'ebgp' ? 0 : 1), 'ebgpOverIbgp');
  keepMin((p) => igpCost(p, opts), 'igpCost');
  // f) onwards is a total order: sort the survivors.
  live.sort((a, b) => tieBreak(paths[a]!, paths[b]!, opts).winner);
  const best = live[0]!;
  if (live.length > 1) {
    for (let k = 1; k < live.length; k++) outcome[live[k]!] = tieBreak(paths[best]!, paths[live[k]!]!, opts).reason;
    reason = outcome[live[1]!] as BestReason;
  }
  outcome[best] = reason;
  const multipath: number[] = [best];
  if (opts.multipath) {
    const bestSet = paths[best]!.set;
    const seen = new Set<Address>([bestSet.nextHop]);
    for (let k = 1; k < live.length && multipath.length < opts.maxPaths; k++) {
      const i = live[k]!;
      const s = paths[i]!.set;
      // Survivors already share local pref, AS path length, origin, peer type and IGP cost; MED
      // may still differ across neighbouring ASes, and ECMP wants it equal.
      if (effectiveMed(s, opts) !== effectiveMed(bestSet, opts) || seen.has(s.nextHop)) continue;
      seen.add(s.nextHop);
      multipath.push(i);
    }
  }
  return { best, reason, multipath, outcome };
}

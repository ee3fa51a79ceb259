/**
 * The RIB: Adj-RIB-In per peer -> Loc-RIB (decision, ECMP) -> change stream -> Adj-RIB-Out per
 * peer and kernel intent. Pure and single-owner: `handle(input, nowMs)` applies one message and
 * marks prefixes dirty; `drain(maxPrefixes)` runs the decision for a bounded batch and returns
 * packed-ready UPDATE groups, kernel changes and actions (style.md §7.4, §8.11).
 *
 * Storage (see tables.ts): one candidate slot per received path; the per-prefix candidate list is
 * the Loc-RIB. A withdrawn or replaced best path stays in its prefix list (C_GONE) until the
 * decision has run, so the change stream can report the old best without copying it.
 */
import type { Prefix } from '../proto/prefix.js';
import { prefixLength } from '../proto/prefix.js';
import type { Address, Family, PathAttributes, UpdateMessage } from '../proto/types.js';
import { Family as Fam, familyAfi, familySafi } from '../proto/types.js';
import { ErrorCode, CeaseSubcode } from '../proto/errors.js';
import { Origin, RouteRefreshSubtype } from '../proto/constants.js';
import { leftmostAs } from '../proto/as4.js';
import type { AttrSet } from './attrs.js';
import { AttrStore, asPathCount } from './attrs.js';
import type { BestReason, DecisionOptions, IneligibleReason, PathSource, PathView } from './decision.js';
import { DEFAULT_DECISION_OPTIONS, select } from './decision.js';
import type { KernelChange, KernelNextHop, KernelRoute } from './kernel-types.js';
import type { KernelIntentConfig } from './kernel-intent.js';
import { kernelRouteFor } from './kernel-intent.js';
import type { ExportPolicy, ExportTarget, ExportVerdict, Pool } from './policy.js';
import { advertiseRuleOf, calicoExport, communitiesAllow, exportAttrs, findPool } from './policy.js';
import type { ImportPolicy, PeerConfig, PeerUpdate, RibAction, RibInput, RibOutput, RibTimer, UpdateGroup } from './messages.js';
import { C_GONE, C_MP, C_STALE_GR, C_STALE_RR, Candidates, P_QUEUED, PrefixTable } from './tables.js';

export interface RibOptions {
  readonly asn: number;
  readonly routerId: number;
  /** Present: this speaker is a route reflector (RFC 4456). */
  readonly clusterId?: number;
  /** Node IPv4 address and subnet: local next hop and the CrossSubnet test. */
  readonly nodeAddress?: { readonly address: number; readonly length: number };
  readonly nodeAddressV6?: string;
  readonly pools: readonly Pool[];
  readonly exportPolicy: ExportPolicy;
  readonly kernel: { readonly tunnelDevice: string; readonly nicDevice?: string };
  readonly decision?: DecisionOptions;
  readonly importPolicy?: ImportPolicy;
  /** RFC 4724 helper: how long stale paths wait for End-of-RIB after re-establishment. */
  readonly stalePathSec?: number;
  /** RFC 4724 §4.1 restarting speaker: defer selection until these peers sent End-of-RIB or the timer fires. */
  readonly restart?: { readonly selectionDeferralSec: number; readonly expectedPeers: readonly string[] };
}

const LOCAL = 0;

interface OutState {
  /** prefix id -> out set id + 1 (non-ADD-PATH). */
  adv: Int32Array;
  /** Prefixes advertised in `adv` (BIRD's "exported" count, without a walk). */
  nAdv: number;
  /** ADD-PATH send: prefix id -> (path id -> out set id). */
  readonly ap: Map<number, Map<number, number>> | null;
  apPending: Map<number, number>;
  pend: Int32Array;
  nPend: number;
  pendFlag: Uint8Array;
  /**
   * Export transform cache indexed by in-set id: out set id + 1, both sets' generations, and the
   * (source peer, family) it was computed for. Holds no references: a generation mismatch means
   * one of the ids was freed and reused (typed arrays: ~14 bytes per in-set, no objects).
   */
  xOut: Int32Array;
  xOutGen: Uint32Array;
  xInGen: Uint32Array;
  xSrc: Int32Array;
  /** Advertise rule per source peer index (RULE_*; 0: not computed), valid while `rulesEpoch` is current. */
  rules: Uint8Array;
  rulesEpoch: number;
  /** Initial-table / refresh walk over prefix ids; -1 when idle. */
  dumpCursor: number;
  /** The walk covers ids below this (fixed at its start: later prefixes reach the peer through the change stream). */
  dumpEnd: number;
  dumpEndOfRib: boolean;
  /** Families whose walk is a RFC 7313 refresh: BoRR pending / EoRR at the end. */
  readonly borr: Set<Family>;
  readonly eorr: Set<Family>;
}

interface PeerState {
  readonly idx: number;
  cfg: PeerConfig;
  kind: 'local' | 'ibgp' | 'ebgp';
  up: boolean;
  /** Adj-RIB-In entries per family (max-prefix); the entries themselves are found through the prefix lists. */
  count4: number;
  count6: number;
  out: OutState | null;
  target4: ExportTarget | null;
  target6: ExportTarget | null;
  source: PathSource;
  /** RFC 4724 helper: families still waiting for End-of-RIB before stale paths are flushed. */
  pendingEor: Set<Family>;
  staleGr: boolean;
  warned: Set<Family>;
  tornDown: boolean;
  /** Restarting-speaker bookkeeping: families we still expect End-of-RIB for. */
  deferralEor: Set<Family>;
}

const RULE_ADVERTISE = 1;
const RULE_REFLECT = 2;
const RULE_NONE = 3;

const famOf = (p: Prefix): Family => (typeof p === 'number' ? Fam.Ipv4Unicast : Fam.Ipv6Unicast);

/** A local block's kernel intent. */
const BLACKHOLE = 'blackhole';
/** Kernel intent of one prefix: no route, a blackhole, or a unicast route's next hops. */
type KernelIntent = null | typeof BLACKHOLE | readonly KernelNextHop[];

// One allocation site each for the per-prefix change records, warmed below with an IPv6 (string)
// prefix: V8 then keeps `prefix` as a tagged field, so an IPv4 prefix (a double) is boxed once and
// shared by both records instead of getting a private number box in each (~30 bytes per change).
function kernelChange(prefix: Prefix, route: KernelRoute | null): KernelChange {
  return { prefix, route };
}
function unicastRoute(prefix: Prefix, nextHops: readonly KernelNextHop[]): KernelRoute {
  return { kind: 'unicast', prefix, nextHops };
}
kernelChange('', unicastRoute('', []));
kernelChange(0.5, unicastRoute(0.5, []));

function intentsEqual(a: KernelIntent, b: KernelIntent): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === BLACKHOLE || b === BLACKHOLE || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.gateway !== y.gateway || x.device !== y.device || x.onlink !== y.onlink) return false;
  }
  return true;
}

export interface RouteExplanation {
  readonly peer: string;
  readonly pathId: number;
  readonly set: AttrSet;
  readonly best: boolean;
  readonly multipath: boolean;
  readonly stale: boolean;
  readonly outcome: BestReason | IneligibleReason;
}

export interface RibStats {
  readonly prefixes: number;
  readonly candidates: number;
  readonly attrSets: number;
  readonly attrRefs: number;
  readonly queued: number;
  /** Prefixes with a best path in the Loc-RIB, per family (kept by the decision process). */
  readonly bestV4: number;
  readonly bestV6: number;
}

function emptyOutput(): { updates: PeerUpdate[]; kernel: KernelChange[]; actions: RibAction[]; more: boolean } {
  return { updates: [], kernel: [], actions: [], more: false };
}

export class Rib {
  readonly attrs = new AttrStore();
  private readonly pt = new PrefixTable();
  private readonly c = new Candidates();
  private readonly peers: PeerState[] = [];
  /** Loc-RIB bests per peer index (BIRD's "preferred" count), kept by the decision process. */
  private preferred: number[] = [];
  private best4 = 0;
  private best6 = 0;
  private readonly peerById = new Map<string, PeerState>();
  private queue = new Int32Array(1024);
  private qHead = 0;
  private qTail = 0;
  private toFree: number[] = [];
  private readonly localBlocks = new Set<Prefix>();
  private readonly blocksGone = new Set<Prefix>();
  private localSet4: AttrSet | null = null;
  private localSet6: AttrSet | null = null;
  private exportPolicy: ExportPolicy;
  private importPolicy: ImportPolicy | undefined;
  private kcfg: KernelIntentConfig;
  /** Shared single-next-hop kernel intents per (family, pool, next hop); reset with `kcfg`. */
  private hops4 = new Map<Pool | undefined, Map<Address, readonly KernelNextHop[]>>();
  private hops6 = new Map<Pool | undefined, Map<Address, readonly KernelNextHop[]>>();
  /** The last IPv4 hit of `hops4` (runs of prefixes share a next hop). */
  private lastNh4: Address | undefined = undefined;
  private lastPool4: Pool | undefined = undefined;
  private lastHops4: readonly KernelNextHop[] | null = null;
  private readonly decision: DecisionOptions;
  private deferring: boolean;
  private pendingPrune = false;
  private deferralPeers: Set<string>;
  private readonly pathScratch: PathView[] = [];
  private readonly slotScratch: number[] = [];
  /** Bumped whenever a peer's kind or RR-client flag may change: invalidates `OutState.rules`. */
  private rulesEpoch = 0;
  /** Calico export verdict of the prefix being exported (computed once for all peers). */
  private curVerdict: ExportVerdict | null = null;

  constructor(private readonly opts: RibOptions) {
    this.exportPolicy = opts.exportPolicy;
    this.importPolicy = opts.importPolicy;
    this.decision = opts.decision ?? DEFAULT_DECISION_OPTIONS;
    this.kcfg = this.kernelConfig(opts.pools);
    this.deferring = opts.restart !== undefined;
    this.deferralPeers = new Set(opts.restart?.expectedPeers ?? []);
    const local: PeerState = {
      idx: LOCAL,
      cfg: {
        id: 'local', address: 0, asn: opts.asn, localAsn: opts.asn, routerId: opts.routerId, localAddress: opts.nodeAddress?.address ?? 0,
        families: [Fam.Ipv4Unicast, Fam.Ipv6Unicast], rrClient: false, nextHopMode: 'auto', addPathReceive: [], addPathSend: [],
        addPathSendMode: 'multipath', enhancedRouteRefresh: false, softReconfigIn: false, allowOwnAs: 0,
      },
      kind: 'local', up: true, count4: 0, count6: 0, out: null, target4: null, target6: null,
      source: { kind: 'local', address: 0, routerId: opts.routerId },
      pendingEor: new Set(), staleGr: false, warned: new Set(), tornDown: false, deferralEor: new Set(),
    };
    this.peers.push(local);
  }

  // --- public queries -------------------------------------------------------------------------

  /** RFC 4724 §4.1: while true, advertise the R bit and defer selection. */
  restartState(): { readonly restarting: boolean; readonly deferring: boolean } {
    return { restarting: this.opts.restart !== undefined, deferring: this.deferring };
  }

  /**
   * BIRD's `Routes: N imported, N exported, N preferred` for one peer, from counters (no walk:
   * status and metrics ask for it often, and a full table has a million routes).
   */
  peerRouteCounts(peer: string): { readonly imported: number; readonly exported: number; readonly preferred: number } {
    const p = this.peerById.get(peer);
    if (p === undefined) return { imported: 0, exported: 0, preferred: 0 };
    const o = p.out;
    let exported = 0;
    if (o !== null) {
      if (o.ap === null) exported = o.nAdv;
      else for (const m of o.ap.values()) exported += m.size;
    }
    return { imported: p.count4 + p.count6, exported, preferred: this.preferred[p.idx] ?? 0 };
  }

  stats(): RibStats {
    const a = this.attrs.counts();
    return { prefixes: this.pt.size, candidates: this.c.live, attrSets: a.sets, attrRefs: a.refs, queued: this.qTail - this.qHead, bestV4: this.best4, bestV6: this.best6 };
  }

  /** Loc-RIB best for a prefix, with every candidate and why it won or lost (`bgpctl show routes PREFIX`). */
  explain(prefix: Prefix): RouteExplanation[] {
    const id = this.pt.find(prefix);
    if (id < 0) return [];
    const slots: number[] = [];
    const views: PathView[] = [];
    const inel: (IneligibleReason | null)[] = [];
    for (let s = this.pt.head[id]!; s >= 0; s = this.c.next[s]!) {
      if ((this.c.flags[s]! & C_GONE) !== 0) continue;
      slots.push(s);
      const a = this.c.attr[s]!;
      views.push(this.view(a >= 0 ? a : this.c.getAttrIn(s), s));
      inel.push(a >= 0 ? null : 'importRejected');
    }
    const sel = select(views, this.decision, inel);
    return slots.map((s, i) => ({
      peer: this.peers[this.c.peer[s]!]!.cfg.id,
      pathId: this.c.getPathId(s),
      set: views[i]!.set,
      best: this.pt.best[id] === s,
      multipath: (this.c.flags[s]! & C_MP) !== 0,
      stale: (this.c.flags[s]! & (C_STALE_GR | C_STALE_RR)) !== 0,
      outcome: sel.outcome[i]!,
    }));
  }

  /** Every Loc-RIB best (for `show routes` and snapshots). */
  forEachBest(fn: (prefix: Prefix, best: AttrSet, peer: string, multipath: readonly AttrSet[]) => void): void {
    for (let id = 0; id < this.pt.high; id++) {
      const b = this.pt.best[id]!;
      if (b < 0 || !this.pt.isLive(id)) continue;
      const mp: AttrSet[] = [];
      for (let s = this.pt.head[id]!; s >= 0; s = this.c.next[s]!) if ((this.c.flags[s]! & C_MP) !== 0) mp.push(this.attrs.get(this.c.attr[s]!));
      fn(this.pt.prefixOf(id), this.attrs.get(this.c.attr[b]!), this.peers[this.c.peer[b]!]!.cfg.id, mp);
    }
  }

  /** The full kernel intent, for reconcile (RFC 4724 deferral end, pool changes, daemon start). */
  kernelSnapshot(): KernelRoute[] {
    const out: KernelRoute[] = [];
    for (let id = 0; id < this.pt.high; id++) {
      if (this.pt.best[id]! < 0 || !this.pt.isLive(id)) continue;
      const prefix = this.pt.prefixOf(id);
      const r = this.kernelRoute(prefix, this.kernelIntent(prefix, id, this.pt.best[id]!));
      if (r !== null) out.push(r);
    }
    return out;
  }

  /** The Adj-RIB-Out of a peer (non-ADD-PATH view): prefix -> set. For show and tests. */
  adjRibOut(peer: string): Map<Prefix, AttrSet> {
    const p = this.peerById.get(peer);
    const m = new Map<Prefix, AttrSet>();
    if (p?.out == null) return m;
    const o = p.out;
    if (o.ap !== null) {
      for (const [id, paths] of o.ap) for (const sid of paths.values()) m.set(this.pt.prefixOf(id), this.attrs.get(sid));
      return m;
    }
    for (let id = 0; id < o.adv.length; id++) if (o.adv[id]! > 0) m.set(this.pt.prefixOf(id), this.attrs.get(o.adv[id]! - 1));
    return m;
  }

  /** Adj-RIB-In (post-policy) of a peer: prefix -> [pathId, set][]. */
  adjRibIn(peer: string): Map<Prefix, [number, AttrSet][]> {
    const p = this.peerById.get(peer);
    const m = new Map<Prefix, [number, AttrSet][]>();
    if (p === undefined) return m;
    this.c.forEachOfPeer(p.idx, (s) => {
      const a = this.c.attr[s]!;
      if (a < 0) return;
      const k = this.pt.prefixOf(this.c.prefix[s]!);
      const l = m.get(k) ?? [];
      l.push([this.c.getPathId(s), this.attrs.get(a)]);
      m.set(k, l);
    });
    return m;
  }

  // --- input ----------------------------------------------------------------------------------

  handle(input: RibInput, nowMs: number): RibOutput {
    const out = emptyOutput();
    const a = out.actions;
    switch (input.type) {
      case 'start':
        if (this.deferring) {
          a.push({ type: 'setTimer', timer: { kind: 'selectionDeferral' }, atMs: nowMs + this.opts.restart!.selectionDeferralSec * 1000 });
          this.checkDeferral(a);
        }
        break;
      case 'peerUp':
        this.peerUp(input.peer, nowMs, a);
        break;
      case 'peerDown':
        this.peerDown(input.peer, input.graceful, nowMs, a);
        break;
      case 'update': {
        const p = this.peerById.get(input.peer);
        if (p !== undefined && p.up && !p.tornDown) this.update(p, input.message, input.treatAsWithdraw === true || this.firstAsMismatch(p, input.message, a), a);
        break;
      }
      case 'endOfRib':
        this.endOfRib(input.peer, input.family, a);
        break;
      case 'routeRefresh':
        this.routeRefresh(input.peer, input.family, input.subtype);
        break;
      case 'refreshIn':
        this.refreshIn(input.peer, input.family, a);
        break;
      case 'peerImport':
        this.peerImport(input.peer);
        break;
      case 'peerExport':
        this.peerExport(input.peer, input.everyPeer);
        break;
      case 'originate':
        for (const p of input.prefixes) this.originate(p, input.kind);
        break;
      case 'withdrawLocal':
        for (const p of input.prefixes) {
          // Still a block for the old kernel route until the decision has run (processPrefix).
          if (this.localBlocks.has(p)) this.blocksGone.add(p);
          this.withdraw(this.peers[LOCAL]!, p, 0);
        }
        break;
      case 'policyChanged':
        this.policyChanged(input, a);
        break;
      case 'timer':
        this.timer(input.timer, a);
        break;
      default: {
        const never: never = input;
        throw new Error(`unknown RIB input ${JSON.stringify(never)}`);
      }
    }
    out.more = this.qTail > this.qHead || this.anyDump();
    return out;
  }

  /**
   * Run the decision process for at most `maxPrefixes` dirty prefixes (and as many initial-table
   * walk steps), emit the change stream to the Adj-RIB-Outs and the kernel intent, and return the
   * resulting UPDATE groups. `more` says whether work remains (call again on a later tick).
   */
  drain(maxPrefixes: number): RibOutput {
    const out = emptyOutput();
    // RFC 4724 §4.1: "defer route selection ... until End-of-RIB from all peers or timer".
    if (this.deferring) return out;
    let budget = maxPrefixes;
    while (budget > 0 && this.qHead < this.qTail) {
      const id = this.queue[this.qHead++]!;
      this.processPrefix(id, out.kernel);
      budget--;
    }
    if (this.qHead === this.qTail) this.qHead = this.qTail = 0;
    for (const p of this.peers) {
      const o = p.out;
      if (o === null || o.dumpCursor < 0 || !p.up) continue;
      while (budget > 0 && o.dumpCursor < o.dumpEnd) {
        const id = o.dumpCursor++;
        if (this.pt.isLive(id)) {
          this.exportPrefix(p, o, id, this.pt.prefixOf(id), this.pt.best[id]!, null);
          budget--;
        }
      }
      if (o.dumpCursor >= o.dumpEnd) o.dumpCursor = -1;
    }
    for (const p of this.peers) if (p.out !== null && p.up) this.flush(p, p.out, out.updates);
    for (const id of this.toFree) if (this.pt.head[id] === -1 && (this.pt.flags[id]! & P_QUEUED) === 0) this.pt.release(id);
    this.toFree = [];
    out.more = this.qTail > this.qHead || this.anyDump();
    if (!out.more && this.pendingPrune) {
      this.pendingPrune = false;
      out.actions.push({ type: 'kernelPrune' });
    }
    return out;
  }

  // --- peers ----------------------------------------------------------------------------------

  private peerUp(cfg: PeerConfig, nowMs: number, a: RibAction[]): void {
    let p = this.peerById.get(cfg.id);
    if (p !== undefined && p.up) this.peerDown(cfg.id, false, nowMs, a);
    const kind = cfg.asn === cfg.localAsn ? 'ibgp' : 'ebgp';
    if (p === undefined) {
      if (this.peers.length >= 0xffff) throw new Error('Rib: too many peers');
      p = {
        idx: this.peers.length, cfg, kind, up: true, count4: 0, count6: 0, out: null, target4: null, target6: null,
        source: { kind, address: cfg.address, routerId: cfg.routerId },
        pendingEor: new Set(), staleGr: false, warned: new Set(), tornDown: false, deferralEor: new Set(),
      };
      this.peers.push(p);
      this.peerById.set(cfg.id, p);
    }
    p.cfg = cfg;
    p.kind = kind;
    this.rulesEpoch++;
    p.up = true;
    p.tornDown = false;
    p.warned.clear();
    p.source = { kind, address: cfg.address, routerId: cfg.routerId };
    this.setTargets(p);
    p.out = this.newOut(cfg);
    if (p.staleGr) {
      a.push({ type: 'cancelTimer', timer: { kind: 'restart', peer: cfg.id } });
      // RFC 4724 §4.2: families absent from the new capability, or without the F bit, are
      // flushed now; the rest wait for End-of-RIB.
      const keep = new Set<Family>((cfg.gracefulRestart?.families ?? []).filter((f) => f.forwardingPreserved).map((f) => f.family));
      for (const f of [Fam.Ipv4Unicast, Fam.Ipv6Unicast]) if (!keep.has(f)) this.flushStale(p, f, C_STALE_GR);
      p.pendingEor = keep;
      if (keep.size > 0) a.push({ type: 'setTimer', timer: { kind: 'stalePath', peer: cfg.id }, atMs: nowMs + (this.opts.stalePathSec ?? 360) * 1000 });
      else p.staleGr = false;
    }
    if (this.deferring) {
      if (cfg.gracefulRestart === undefined) this.deferralPeers.delete(cfg.id);
      else p.deferralEor = new Set(cfg.families);
      this.checkDeferral(a);
    }
  }

  /** A target per negotiated family (null: the family is not sent on this session). */
  private setTargets(p: PeerState): void {
    const cfg = p.cfg;
    const kind = cfg.asn === cfg.localAsn ? 'ibgp' : 'ebgp';
    p.target4 = cfg.families.includes(Fam.Ipv4Unicast) ? { kind, localAsn: cfg.localAsn, selfNextHop: cfg.localAddress, nextHopMode: cfg.nextHopMode } : null;
    p.target6 = cfg.localAddressV6 === undefined || !cfg.families.includes(Fam.Ipv6Unicast) ? null : { kind, localAsn: cfg.localAsn, selfNextHop: cfg.localAddressV6, nextHopMode: cfg.nextHopMode };
  }

  /**
   * Walk every prefix again through exportPrefix, which sends only what differs from the
   * Adj-RIB-Out. An End-of-RIB still owed by an initial walk in progress is sent after this one.
   */
  private rewalk(o: OutState): void {
    o.dumpCursor = 0;
    o.dumpEnd = this.pt.high;
  }

  private peerExport(cfg: PeerConfig, everyPeer: boolean): void {
    const p = this.peerById.get(cfg.id);
    if (p === undefined || !p.up || p.idx === LOCAL) return;
    p.cfg = cfg;
    this.setTargets(p);
    // New rules for paths from and to this peer: every OutState drops its cached rules and transforms.
    this.rulesEpoch++;
    for (const t of everyPeer ? this.peers : [p]) if (t.up && t.out !== null) this.rewalk(t.out);
  }

  private newOut(cfg: PeerConfig): OutState {
    return {
      adv: new Int32Array(cfg.addPathSend.length > 0 ? 0 : this.pt.capacity),
      nAdv: 0,
      ap: cfg.addPathSend.length > 0 ? new Map() : null,
      apPending: new Map(),
      pend: new Int32Array(256),
      nPend: 0,
      pendFlag: new Uint8Array(this.pt.capacity),
      xOut: new Int32Array(0),
      xOutGen: new Uint32Array(0),
      xInGen: new Uint32Array(0),
      xSrc: new Int32Array(0),
      rules: new Uint8Array(0),
      rulesEpoch: -1,
      dumpCursor: 0,
      dumpEnd: this.pt.high,
      dumpEndOfRib: true,
      borr: new Set(),
      eorr: new Set(),
    };
  }

  private dropOut(p: PeerState): void {
    const o = p.out;
    if (o === null) return;
    for (let i = 0; i < o.adv.length; i++) if (o.adv[i]! > 0) this.attrs.unrefId(o.adv[i]! - 1);
    if (o.ap !== null) for (const m of o.ap.values()) for (const sid of m.values()) this.attrs.unrefId(sid);
    p.out = null;
  }

  private peerDown(id: string, graceful: boolean, nowMs: number, a: RibAction[]): void {
    const p = this.peerById.get(id);
    if (p === undefined) return;
    const wasUp = p.up;
    p.up = false;
    this.dropOut(p);
    const gr = p.cfg.gracefulRestart;
    if (graceful && gr !== undefined && wasUp) {
      // RFC 4724 §4.2: keep the routes, marked stale, and start the Restart Time.
      this.c.forEachOfPeer(p.idx, (s) => {
        this.c.flags[s]! |= C_STALE_GR;
      });
      if (p.staleGr) a.push({ type: 'cancelTimer', timer: { kind: 'stalePath', peer: id } });
      p.staleGr = true;
      a.push({ type: 'setTimer', timer: { kind: 'restart', peer: id }, atMs: nowMs + gr.restartTimeSec * 1000 });
      return;
    }
    if (p.staleGr) {
      a.push({ type: 'cancelTimer', timer: { kind: 'restart', peer: id } });
      a.push({ type: 'cancelTimer', timer: { kind: 'stalePath', peer: id } });
    }
    this.removeAll(p);
  }

  private removeAll(p: PeerState): void {
    this.c.forEachOfPeer(p.idx, (s) => this.markGone(s));
    p.count4 = 0;
    p.count6 = 0;
    p.staleGr = false;
    p.pendingEor.clear();
  }

  private markGone(s: number): void {
    this.c.flags[s]! |= C_GONE;
    this.enqueue(this.c.prefix[s]!);
  }

  /** Remove `flag`-stale paths of a family (or both). */
  private flushStale(p: PeerState, family: Family | null, flag: number): void {
    const kill: number[] = [];
    this.c.forEachOfPeer(p.idx, (s) => {
      if ((this.c.flags[s]! & flag) === 0) return;
      if (family !== null && famOf(this.pt.prefixOf(this.c.prefix[s]!)) !== family) return;
      kill.push(s);
    });
    for (const s of kill) {
      if (this.pt.isV4(this.c.prefix[s]!)) p.count4--;
      else p.count6--;
      this.markGone(s);
    }
  }

  private endOfRib(id: string, family: Family, a: RibAction[]): void {
    const p = this.peerById.get(id);
    if (p === undefined) return;
    if (p.staleGr && p.pendingEor.delete(family)) {
      // RFC 4724 §4.2: on End-of-RIB, delete the paths still marked stale for that family.
      this.flushStale(p, family, C_STALE_GR);
      if (p.pendingEor.size === 0) {
        p.staleGr = false;
        a.push({ type: 'cancelTimer', timer: { kind: 'stalePath', peer: id } });
      }
    }
    if (this.deferring && p.deferralEor.delete(family) && p.deferralEor.size === 0) {
      this.deferralPeers.delete(id);
      this.checkDeferral(a);
    }
  }

  private checkDeferral(a: RibAction[]): void {
    if (!this.deferring || this.deferralPeers.size > 0) return;
    this.endDeferral('endOfRib', a);
  }

  private endDeferral(reason: 'endOfRib' | 'timeout', a: RibAction[]): void {
    this.deferring = false;
    this.pendingPrune = true;
    a.push({ type: 'cancelTimer', timer: { kind: 'selectionDeferral' } });
    a.push({ type: 'selectionDeferralComplete', reason });
  }

  private timer(t: RibTimer, a: RibAction[]): void {
    switch (t.kind) {
      case 'restart': {
        // RFC 4724 §4.2: the peer did not come back within its Restart Time.
        const p = this.peerById.get(t.peer);
        if (p !== undefined && !p.up && p.staleGr) this.removeAll(p);
        break;
      }
      case 'stalePath': {
        const p = this.peerById.get(t.peer);
        if (p !== undefined && p.staleGr) {
          this.flushStale(p, null, C_STALE_GR);
          p.staleGr = false;
          p.pendingEor.clear();
        }
        break;
      }
      case 'selectionDeferral':
        if (this.deferring) this.endDeferral('timeout', a);
        break;
      default: {
        const never: never = t;
        throw new Error(`unknown timer ${JSON.stringify(never)}`);
      }
    }
  }

  private routeRefresh(id: string, family: Family, subtype: number): void {
    const p = this.peerById.get(id);
    if (p === undefined || !p.up) return;
    if (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh) {
      // RFC 7313 §4: mark the peer's routes of the family stale until EoRR.
      this.c.forEachOfPeer(p.idx, (s) => {
        if (famOf(this.pt.prefixOf(this.c.prefix[s]!)) === family) this.c.flags[s]! |= C_STALE_RR;
      });
    } else if (subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      this.flushStale(p, family, C_STALE_RR);
    } else if (p.out !== null) {
      // RFC 2918: re-advertise our Adj-RIB-Out; RFC 7313 §4 brackets it with BoRR/EoRR.
      const o = p.out;
      if (o.ap === null) {
        for (let i = 0; i < o.adv.length; i++) if (o.adv[i]! > 0 && famOf(this.pt.prefixOf(i)) === family) this.markPending(o, i);
      } else {
        for (const [pid, m] of o.ap) if (famOf(this.pt.prefixOf(pid)) === family) for (const [pathId, sid] of m) o.apPending.set(pid * 4294967296 + pathId, sid);
      }
      if (p.cfg.enhancedRouteRefresh) {
        o.borr.add(family);
        o.eorr.add(family);
      }
    }
  }

  /**
   * New import settings for an established session (a reload, no reset). Routes held now that
   * the new loop check refuses are withdrawn here: a ROUTE-REFRESH answer only re-announces what
   * the peer has (RFC 2918 §4), and without RFC 7313 BoRR/EoRR nothing would sweep them. Routes the
   * old settings refused were never kept; the caller asks the peer for them again (refreshIn).
   */
  private peerImport(cfg: PeerConfig): void {
    const p = this.peerById.get(cfg.id);
    if (p === undefined || !p.up || p.idx === LOCAL) return;
    p.cfg = cfg;
    this.rulesEpoch++;
    // With soft reconfiguration the stored pre-policy routes are re-imported by refreshIn.
    if (cfg.softReconfigIn) return;
    const refused: number[] = [];
    const firstAs = p.kind === 'ebgp' && cfg.enforceFirstAs === true;
    this.c.forEachOfPeer(p.idx, (s) => {
      const post = this.c.attr[s]!;
      if (post < 0) return;
      const attrs = this.attrs.get(post).attrs;
      if (this.loopCheck(p, attrs) !== null || (firstAs && leftmostAs(attrs.asPath) !== cfg.asn)) refused.push(s);
    });
    for (const s of refused) this.withdraw(p, this.pt.prefixOf(this.c.prefix[s]!), this.c.getPathId(s));
  }

  /**
   * RFC 4271 §6.3: an UPDATE from an eBGP peer whose AS_PATH does not start with the peer's AS is
   * a Malformed AS_PATH, and RFC 7606 §7.2 makes AS_PATH errors treat-as-withdraw (FRR's
   * enforce-first-as). An empty path or a leading AS_SET has no first AS: an error only when the
   * UPDATE announces routes (a withdraw-only UPDATE carries no path to judge).
   */
  private firstAsMismatch(p: PeerState, m: UpdateMessage, a: RibAction[]): boolean {
    if (p.kind !== 'ebgp' || p.cfg.enforceFirstAs !== true || m.attrs === null) return false;
    const announced = m.nlri.length + (m.mpReach?.nlri.length ?? 0);
    if (announced === 0) return false;
    const first = leftmostAs(m.attrs.asPath);
    if (first === p.cfg.asn) return false;
    a.push({ type: 'firstAsMismatch', peer: p.cfg.id, peerAs: p.cfg.asn, firstAs: first, prefixes: announced });
    return true;
  }

  private refreshIn(id: string, family: Family, a: RibAction[]): void {
    const p = this.peerById.get(id);
    if (p === undefined || !p.up) return;
    if (!p.cfg.softReconfigIn) {
      a.push({ type: 'sendRouteRefresh', peer: id, afi: familyAfi(family), safi: familySafi(family), subtype: RouteRefreshSubtype.Normal });
      return;
    }
    // Soft reconfiguration inbound: re-run import over the stored pre-policy routes.
    const slots: number[] = [];
    this.c.forEachOfPeer(p.idx, (s) => {
      if (this.c.getAttrIn(s) >= 0 && famOf(this.pt.prefixOf(this.c.prefix[s]!)) === family) slots.push(s);
    });
    for (const s of slots) {
      const inSet = this.attrs.get(this.c.getAttrIn(s));
      const prefix = this.pt.prefixOf(this.c.prefix[s]!);
      const pathId = this.c.getPathId(s);
      this.attrs.ref(inSet); // held across the re-import
      const post = this.importOne(p, prefix, inSet);
      this.setRoute(p, prefix, pathId, post, inSet.id);
      if (post >= 0) this.attrs.unrefId(post);
      this.attrs.unref(inSet);
    }
  }

  private policyChanged(input: Extract<RibInput, { type: 'policyChanged' }>, a: RibAction[]): void {
    if (input.exportPolicy !== undefined) {
      this.exportPolicy = input.exportPolicy;
      // Re-evaluate every Adj-RIB-Out (a non-forced walk: only differences are sent).
      for (const p of this.peers) if (p.out !== null) this.rewalk(p.out);
    }
    if (input.pools !== undefined) {
      this.kcfg = this.kernelConfig(input.pools);
      this.hops4 = new Map();
      this.hops6 = new Map();
      this.lastHops4 = null;
      a.push({ type: 'kernelReconcile' });
    }
    if (input.importPolicy !== undefined) {
      this.importPolicy = input.importPolicy ?? undefined;
      for (const p of this.peers) {
        if (p.idx === LOCAL || !p.up) continue;
        for (const f of p.cfg.families) this.refreshIn(p.cfg.id, f, a);
      }
    }
  }

  private kernelConfig(pools: readonly Pool[]): KernelIntentConfig {
    const base = { pools, tunnelDevice: this.opts.kernel.tunnelDevice };
    const withNic = this.opts.kernel.nicDevice === undefined ? base : { ...base, nicDevice: this.opts.kernel.nicDevice };
    return this.opts.nodeAddress === undefined ? withNic : { ...withNic, nodeAddress: this.opts.nodeAddress };
  }

  // --- import ---------------------------------------------------------------------------------

  private originate(prefix: Prefix, kind: 'block' | 'static'): void {
    const v4 = typeof prefix === 'number';
    let set = v4 ? this.localSet4 : this.localSet6;
    if (set === null) {
      // calico.md §1.8: ORIGIN IGP, empty AS path, next hop = the node address.
      const nh: Address = v4 ? (this.opts.nodeAddress?.address ?? 0) : (this.opts.nodeAddressV6 ?? '::');
      set = this.attrs.intern({ origin: Origin.Igp, asPath: [] }, nh);
      if (v4) this.localSet4 = set;
      else this.localSet6 = set;
    }
    this.blocksGone.delete(prefix);
    if (kind === 'block') this.localBlocks.add(prefix);
    else this.localBlocks.delete(prefix);
    this.setRoute(this.peers[LOCAL]!, prefix, 0, set.id, -1);
  }

  private update(p: PeerState, m: UpdateMessage, treatAsWithdraw: boolean, a: RibAction[]): void {
    if (m.withdrawn.length > 1) this.pt.prefetch4(m.withdrawn);
    if (m.nlri.length > 1) this.pt.prefetch4(m.nlri);
    this.withdrawList(p, m.withdrawn, m.withdrawnPathIds);
    if (m.mpUnreach !== undefined) this.withdrawList(p, m.mpUnreach.withdrawn, m.mpUnreach.pathIds);
    const attrs = m.attrs;
    if (treatAsWithdraw || attrs === null) {
      // RFC 7606 §2 treat-as-withdraw: every NLRI of the message is withdrawn.
      this.withdrawList(p, m.nlri, m.nlriPathIds);
      if (m.mpReach !== undefined) this.withdrawList(p, m.mpReach.nlri, m.mpReach.pathIds);
      return;
    }
    if (m.nlri.length > 0 && attrs.nextHop !== undefined) this.announce(p, m.nlri, m.nlriPathIds, attrs, attrs.nextHop, undefined);
    const mp = m.mpReach;
    if (mp !== undefined && mp.nlri.length > 0) this.announce(p, mp.nlri, mp.pathIds, attrs, mp.nextHop, mp.linkLocal);
    this.checkMaxPrefix(p, a);
  }

  // A plain loop: forEach with a closure allocated a context per call, 100k+ per table.
  private withdrawList(p: PeerState, prefixes: readonly Prefix[], pathIds: readonly number[] | undefined): void {
    for (let i = 0; i < prefixes.length; i++) this.withdraw(p, prefixes[i]!, pathIds?.[i] ?? 0);
  }

  /** RFC 4271 §9.1.2 / RFC 4456 §8 loop checks, once per UPDATE (not per prefix). */
  private loopCheck(p: PeerState, attrs: PathAttributes): IneligibleReason | null {
    if (p.kind === 'ebgp' && asPathCount(attrs.asPath, p.cfg.localAsn) > p.cfg.allowOwnAs) return 'asLoop';
    if (attrs.originatorId !== undefined && attrs.originatorId === this.opts.routerId) return 'originatorIdLoop';
    const cid = this.opts.clusterId;
    if (cid !== undefined && attrs.clusterList?.includes(cid) === true) return 'clusterListLoop';
    return null;
  }

  private announce(p: PeerState, nlri: readonly Prefix[], pathIds: readonly number[] | undefined, attrs: PathAttributes, nh: Address, ll: string | undefined): void {
    const loop = this.loopCheck(p, attrs);
    const keepIn = p.cfg.softReconfigIn;
    const policy = this.importPolicy;
    if (loop !== null && !keepIn) {
      // RFC 4456 §8 "ignore": not stored; an earlier path with the same key is implicitly withdrawn.
      this.withdrawList(p, nlri, pathIds);
      return;
    }
    const inSet = this.attrs.intern(attrs, nh, ll); // one temporary reference for this UPDATE
    const inId = keepIn ? inSet.id : -1;
    if (policy === undefined) {
      const post = loop === null ? inSet.id : -1;
      for (let i = 0; i < nlri.length; i++) this.setRoute(p, nlri[i]!, pathIds?.[i] ?? 0, post, inId);
    } else {
      for (let i = 0; i < nlri.length; i++) {
        const pf = nlri[i]!;
        const post = loop === null ? this.importOne(p, pf, inSet) : -1;
        this.setRoute(p, pf, pathIds?.[i] ?? 0, post, inId);
        if (post >= 0) this.attrs.unrefId(post);
      }
    }
    this.attrs.unref(inSet);
  }

  /** Import policy for one route; returns a set id holding one reference, or -1 (rejected). */
  private importOne(p: PeerState, prefix: Prefix, inSet: AttrSet): number {
    if (this.loopCheck(p, inSet.attrs) !== null) return -1;
    const policy = this.importPolicy;
    if (policy === undefined) {
      this.attrs.ref(inSet);
      return inSet.id;
    }
    const r = policy(prefix, inSet.attrs, p.cfg);
    if (r === null) return -1;
    if (r === inSet.attrs) {
      this.attrs.ref(inSet);
      return inSet.id;
    }
    return this.attrs.intern(r, inSet.nextHop, inSet.linkLocal).id;
  }

  /**
   * Install/replace/remove one Adj-RIB-In entry. `post`/`pre` are set ids (-1: none); this
   * function takes its own references.
   */
  private setRoute(p: PeerState, prefix: Prefix, pathId: number, post: number, pre: number): void {
    if (post < 0 && pre < 0) {
      this.withdraw(p, prefix, pathId);
      return;
    }
    const c = this.c;
    const id = this.pt.ensure(prefix);
    const old = c.findInList(this.pt.head[id]!, p.idx, pathId);
    if (old >= 0) {
      const f = c.flags[old]!;
      c.flags[old] = f & ~(C_STALE_GR | C_STALE_RR);
      if (c.attr[old] === post && c.getAttrIn(old) === pre) return; // a refresh: only staleness changed
      if ((f & C_MP) === 0) {
        // Not in the best/multipath set: nobody downstream saw it, update in place.
        if (post >= 0) this.attrs.refId(post);
        if (pre >= 0) this.attrs.refId(pre);
        if (c.attr[old]! >= 0) this.attrs.unrefId(c.attr[old]!);
        if (c.getAttrIn(old) >= 0) this.attrs.unrefId(c.getAttrIn(old));
        c.attr[old] = post;
        c.setAttrIn(old, pre);
        this.enqueue(id);
        return;
      }
    }
    const s = c.alloc();
    c.prefix[s] = id;
    c.peer[s] = p.idx;
    c.setPathId(s, pathId);
    c.attr[s] = post;
    c.setAttrIn(s, pre);
    c.flags[s] = 0;
    c.next[s] = this.pt.head[id]!;
    this.pt.head[id] = s;
    if (post >= 0) this.attrs.refId(post);
    if (pre >= 0) this.attrs.refId(pre);
    if (old >= 0) {
      // Replacing a best/multipath path: keep the old slot (C_GONE) for the change stream.
      c.flags[old]! |= C_GONE;
    } else if (typeof prefix === 'number') {
      p.count4++;
    } else {
      p.count6++;
    }
    this.enqueue(id);
  }

  private withdraw(p: PeerState, prefix: Prefix, pathId: number): void {
    const id = this.pt.find(prefix);
    if (id < 0) return;
    const s = this.c.findInList(this.pt.head[id]!, p.idx, pathId);
    if (s < 0) return;
    if (typeof prefix === 'number') p.count4--;
    else p.count6--;
    this.markGone(s);
  }

  private enqueue(id: number): void {
    const f = this.pt.flags[id]!;
    if ((f & P_QUEUED) !== 0) return;
    this.pt.flags[id] = f | P_QUEUED;
    if (this.qTail === this.queue.length) {
      if (this.qHead > 0) {
        this.queue.copyWithin(0, this.qHead, this.qTail);
        this.qTail -= this.qHead;
        this.qHead = 0;
      }
      if (this.qTail * 2 > this.queue.length) {
        const q = new Int32Array(this.queue.length * 2);
        q.set(this.queue.subarray(0, this.qTail));
        this.queue = q;
      }
    }
    this.queue[this.qTail++] = id;
  }

  private checkMaxPrefix(p: PeerState, a: RibAction[]): void {
    const mp = p.cfg.maxPrefix;
    if (mp === undefined) return;
    for (const [fam, count] of [[Fam.Ipv4Unicast, p.count4], [Fam.Ipv6Unicast, p.count6]] as const) {
      if (count <= mp.limit) {
        p.warned.delete(fam);
        continue;
      }
      if (mp.action === 'warn') {
        if (!p.warned.has(fam)) a.push({ type: 'maxPrefixWarning', peer: p.cfg.id, family: fam, limit: mp.limit, count });
        p.warned.add(fam);
        continue;
      }
      // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, data = AFI (2), SAFI (1), upper bound (4).
      const data = new Uint8Array(7);
      const dv = new DataView(data.buffer);
      dv.setUint16(0, familyAfi(fam));
      dv.setUint8(2, familySafi(fam));
      dv.setUint32(3, mp.limit >>> 0);
      p.tornDown = true;
      a.push({ type: 'teardown', peer: p.cfg.id, code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumNumberOfPrefixesReached, data, reason: `maximum prefixes (${mp.limit}) exceeded: ${count}` });
      return;
    }
  }

  // --- decision and change stream ---------------------------------------------------------------

  private view(setId: number, s: number): PathView {
    return { set: this.attrs.get(setId), source: this.peers[this.c.peer[s]!]!.source, pathId: this.c.getPathId(s) };
  }

  private processPrefix(id: number, kernel: KernelChange[]): void {
    const c = this.c;
    const pt = this.pt;
    pt.flags[id]! &= ~P_QUEUED;
    const oldBest = pt.best[id]!;
    // Candidates: the common single-path case never touches the scratch array (a JS array whose
    // length is reset to 0 drops its backing store: one allocation per prefix).
    let first = -1;
    let nLive = 0;
    let oldMpCount = 0;
    for (let s = pt.head[id]!; s >= 0; s = c.next[s]!) {
      const f = c.flags[s]!;
      if ((f & C_MP) !== 0) oldMpCount++;
      if ((f & C_GONE) === 0 && c.attr[s]! >= 0) {
        if (nLive++ === 0) first = s;
      }
    }
    let newBest = -1;
    let mp: number[] | null = null; // null: just [newBest]
    const resolver = this.decision.resolver;
    if (nLive === 1 && resolver === undefined) {
      newBest = first;
    } else if (nLive > 0) {
      const live = this.slotScratch;
      live.length = 0;
      for (let s = pt.head[id]!; s >= 0; s = c.next[s]!) if ((c.flags[s]! & C_GONE) === 0 && c.attr[s]! >= 0) live.push(s);
      const views = this.pathScratch;
      views.length = 0;
      for (const s of live) views.push(this.view(c.attr[s]!, s));
      const sel = select(views, this.decision);
      if (sel.best >= 0) {
        newBest = live[sel.best]!;
        if (sel.multipath.length > 1) mp = sel.multipath.map((i) => live[i]!);
      }
    }
    // Did the best or the multipath set change?
    const newMpCount = newBest < 0 ? 0 : mp === null ? 1 : mp.length;
    let changed = oldBest !== newBest || oldMpCount !== newMpCount;
    if (!changed && mp !== null) for (const s of mp) if ((c.flags[s]! & C_MP) === 0) changed = true;
    let oldKernel: KernelIntent = null;
    const prefix = pt.prefixOf(id);
    if (changed) {
      oldKernel = oldBest < 0 ? null : this.kernelIntent(prefix, id, oldBest);
      for (let s = pt.head[id]!; s >= 0; s = c.next[s]!) c.flags[s]! &= ~C_MP;
      if (newBest >= 0) {
        if (mp === null) c.flags[newBest]! |= C_MP;
        else for (const s of mp) c.flags[s]! |= C_MP;
      }
      pt.best[id] = newBest;
      if ((oldBest < 0) !== (newBest < 0)) {
        const d = newBest >= 0 ? 1 : -1;
        if (typeof prefix === 'number') this.best4 += d;
        else this.best6 += d;
      }
      if (oldBest >= 0) this.preferred[c.peer[oldBest]!]!--;
      if (newBest >= 0) {
        const pi = c.peer[newBest]!;
        this.preferred[pi] = (this.preferred[pi] ?? 0) + 1;
      }
    }
    // The change stream: every Adj-RIB-Out, then the kernel.
    for (const p of this.peers) {
      const o = p.out;
      if (o === null || !p.up) continue;
      if (!changed && (o.ap === null || p.cfg.addPathSendMode !== 'all')) continue;
      this.exportPrefix(p, o, id, prefix, newBest, mp);
    }
    if (changed) {
      const nk = newBest < 0 ? null : this.kernelIntent(prefix, id, newBest);
      if (!intentsEqual(oldKernel, nk)) kernel.push(kernelChange(prefix, this.kernelRoute(prefix, nk)));
    }
    // Now the withdrawn/replaced slots have been reported: free them.
    let prev = -1;
    for (let s = pt.head[id]!; s >= 0; ) {
      const nx = c.next[s]!;
      if ((c.flags[s]! & C_GONE) !== 0) {
        if (prev < 0) pt.head[id] = nx;
        else c.next[prev] = nx;
        if (c.attr[s]! >= 0) this.attrs.unrefId(c.attr[s]!);
        if (c.getAttrIn(s) >= 0) this.attrs.unrefId(c.getAttrIn(s));
        c.free(s);
      } else prev = s;
      s = nx;
    }
    if (pt.head[id] === -1) this.toFree.push(id);
    if (this.blocksGone.size > 0 && this.blocksGone.delete(prefix)) this.localBlocks.delete(prefix);
  }

  /**
   * The kernel intent of a prefix from its C_MP-flagged slots (before the flags move: the old
   * intent; after: the new), without building a route: equal intents are the same shared
   * next-hop array in the common single-next-hop case. Same result as `kernelRouteFor`.
   */
  private kernelIntent(prefix: Prefix, id: number, best: number): KernelIntent {
    const c = this.c;
    if (c.peer[best] === LOCAL) {
      const r = kernelRouteFor(prefix, { kind: 'local', block: this.localBlocks.has(prefix) }, this.kcfg);
      return r === null ? null : BLACKHOLE;
    }
    let nh0: Address | undefined;
    let many: Address[] | null = null;
    for (let s = this.pt.head[id]!; s >= 0; s = c.next[s]!) {
      if ((c.flags[s]! & C_MP) === 0 || c.peer[s] === LOCAL) continue;
      const nh = this.attrs.get(c.attr[s]!).nextHop;
      if (nh0 === undefined) nh0 = nh;
      else (many ??= [nh0]).push(nh);
    }
    if (nh0 === undefined) nh0 = this.attrs.get(c.attr[best]!).nextHop;
    if (many !== null) {
      const r = kernelRouteFor(prefix, { kind: 'remote', nextHops: many }, this.kcfg);
      return r === null || r.kind !== 'unicast' ? null : r.nextHops;
    }
    const pool = findPool(prefix, this.kcfg.pools);
    // §1.7: "VXLAN routes are handled by Felix" (kernelRouteFor).
    if (pool !== undefined && pool.vxlanMode !== 'Never') return null;
    const v4 = typeof prefix === 'number';
    if (v4 && nh0 === this.lastNh4 && pool === this.lastPool4 && this.lastHops4 !== null) return this.lastHops4;
    const byPool = v4 ? this.hops4 : this.hops6;
    let m = byPool.get(pool);
    if (m === undefined) byPool.set(pool, (m = new Map()));
    let hops = m.get(nh0);
    if (hops === undefined) {
      const r = kernelRouteFor(prefix, { kind: 'remote', nextHops: [nh0] }, this.kcfg);
      if (r === null || r.kind !== 'unicast') return null;
      hops = Object.freeze(r.nextHops.map((h) => Object.freeze(h)));
      m.set(nh0, hops);
    }
    if (v4) {
      this.lastNh4 = nh0;
      this.lastPool4 = pool;
      this.lastHops4 = hops;
    }
    return hops;
  }

  private kernelRoute(prefix: Prefix, k: KernelIntent): KernelRoute | null {
    if (k === null) return null;
    if (k === BLACKHOLE) return { kind: 'blackhole', prefix };
    return unicastRoute(prefix, k);
  }

  private verdict(prefix: Prefix): ExportVerdict {
    return calicoExport(prefix, this.exportPolicy, this.localBlocks);
  }

  /** The out set for path slot `s` towards peer `t`, with one reference; -1 when not advertised. */
  private outSetFor(t: PeerState, o: OutState, s: number, prefix: Prefix): number {
    const c = this.c;
    const srcIdx = c.peer[s]!;
    if (srcIdx === t.idx) return -1; // never back to the peer it came from
    const fam = famOf(prefix);
    const target = fam === Fam.Ipv4Unicast ? t.target4 : t.target6;
    if (target === null) return -1;
    const rule = this.ruleFor(t, o, srcIdx);
    if (rule === RULE_NONE) return -1;
    const st = this.attrs;
    const inId = c.attr[s]!;
    const srcKey = srcIdx * 2 + (fam === Fam.Ipv4Unicast ? 0 : 1);
    if (inId >= o.xOut.length) this.growXlate(o);
    const cached = o.xOut[inId]! - 1;
    if (cached >= 0 && o.xSrc[inId] === srcKey && o.xInGen[inId] === st.gen(inId) && o.xOutGen[inId] === st.gen(cached) && st.isLiveId(cached)) {
      // A cached transform implies the set passed the community check: only the prefix verdict remains.
      if (this.curVerdict === null) this.curVerdict = this.verdict(prefix);
      if (this.curVerdict !== 'accept') return -1;
      st.refId(cached);
      return cached;
    }
    const inSet = st.get(inId);
    if (!communitiesAllow(inSet, target.kind)) return -1;
    if (this.curVerdict === null) this.curVerdict = this.verdict(prefix);
    if (this.curVerdict !== 'accept') return -1;
    const src = this.peers[srcIdx]!;
    const r = exportAttrs(inSet, src.source, target, rule === RULE_REFLECT, this.opts.clusterId);
    const outSet = st.intern(r.attrs, r.nextHop, r.nextHop === inSet.nextHop ? inSet.linkLocal : undefined);
    if (inId >= o.xOut.length) this.growXlate(o);
    o.xOut[inId] = outSet.id + 1;
    o.xSrc[inId] = srcKey;
    o.xInGen[inId] = st.gen(inId);
    o.xOutGen[inId] = st.gen(outSet.id);
    return outSet.id;
  }

  /** RFC 4271 §9.2 / RFC 4456 §8 rule for paths from peer `srcIdx` to `t`, cached per OutState. */
  private ruleFor(t: PeerState, o: OutState, srcIdx: number): number {
    if (o.rulesEpoch !== this.rulesEpoch || srcIdx >= o.rules.length) {
      // A peer (re)configured: its kind, and so the transform of its paths, may have changed.
      if (o.rulesEpoch !== this.rulesEpoch) o.xOut.fill(0);
      o.rules = new Uint8Array(Math.max(this.peers.length, 16));
      o.rulesEpoch = this.rulesEpoch;
    }
    let r = o.rules[srcIdx]!;
    if (r === 0) {
      const src = this.peers[srcIdx]!;
      const v = advertiseRuleOf(src.kind, src.cfg.rrClient, t.kind === 'ebgp' ? 'ebgp' : 'ibgp', t.cfg.rrClient, this.opts.clusterId !== undefined);
      r = v === 'advertise' ? RULE_ADVERTISE : v === 'reflect' ? RULE_REFLECT : RULE_NONE;
      o.rules[srcIdx] = r;
    }
    return r;
  }

  private growXlate(o: OutState): void {
    const n = this.attrs.idCapacity;
    const a = new Int32Array(n);
    a.set(o.xOut);
    o.xOut = a;
    const b = new Int32Array(n);
    b.set(o.xSrc);
    o.xSrc = b;
    const c = new Uint32Array(n);
    c.set(o.xInGen);
    o.xInGen = c;
    const d = new Uint32Array(n);
    d.set(o.xOutGen);
    o.xOutGen = d;
  }

  private exportPrefix(t: PeerState, o: OutState, id: number, prefix: Prefix, best: number, mp: number[] | null): void {
    this.curVerdict = null;
    if (o.ap === null) {
      // Fast exit: nothing advertised and the best may not go to this peer (iBGP to iBGP, back to its source).
      if ((id >= o.adv.length || o.adv[id] === 0) && (best < 0 || this.c.peer[best] === t.idx || this.ruleFor(t, o, this.c.peer[best]!) === RULE_NONE)) return;
      const next = best < 0 ? -1 : this.outSetFor(t, o, best, prefix);
      if (id >= o.adv.length) {
        const g = new Int32Array(this.pt.capacity);
        g.set(o.adv);
        o.adv = g;
      }
      const cur = o.adv[id]! - 1;
      if (next === cur) {
        if (next >= 0) this.attrs.unrefId(next);
        return;
      }
      if (cur >= 0) this.attrs.unrefId(cur);
      if (cur < 0 && next >= 0) o.nAdv++;
      else if (cur >= 0 && next < 0) o.nAdv--;
      o.adv[id] = next + 1;
      this.markPending(o, id);
      return;
    }
    // RFC 7911 send: the multipath set (or every eligible path) with path ids stable per source
    // path: (source peer index << 16) | (source path id & 0xffff).
    const want = new Map<number, number>();
    if (best >= 0) {
      const slots: number[] = [];
      if (t.cfg.addPathSendMode === 'all') {
        for (let s = this.pt.head[id]!; s >= 0; s = this.c.next[s]!) if ((this.c.flags[s]! & C_GONE) === 0 && this.c.attr[s]! >= 0) slots.push(s);
      } else if (mp !== null) slots.push(...mp);
      else slots.push(best);
      for (const s of slots) {
        const sid = this.outSetFor(t, o, s, prefix);
        if (sid < 0) continue;
        const pathId = (this.c.peer[s]! * 65536 + (this.c.getPathId(s) & 0xffff)) >>> 0;
        if (want.has(pathId)) this.attrs.unrefId(sid);
        else want.set(pathId, sid);
      }
    }
    const have = o.ap.get(id) ?? new Map<number, number>();
    for (const [pathId, sid] of have) {
      if (want.get(pathId) === sid) continue;
      if (!want.has(pathId)) o.apPending.set(id * 4294967296 + pathId, -1);
      this.attrs.unrefId(sid);
    }
    for (const [pathId, sid] of want) {
      if (have.get(pathId) === sid) {
        this.attrs.unrefId(sid); // already held by `have`
        continue;
      }
      o.apPending.set(id * 4294967296 + pathId, sid);
    }
    if (want.size === 0) o.ap.delete(id);
    else o.ap.set(id, want);
  }

  private markPending(o: OutState, id: number): void {
    if (id >= o.pendFlag.length) {
      const g = new Uint8Array(this.pt.capacity);
      g.set(o.pendFlag);
      o.pendFlag = g;
    }
    if (o.pendFlag[id] !== 0) return;
    o.pendFlag[id] = 1;
    if (o.nPend === o.pend.length) {
      const g = new Int32Array(o.pend.length * 2);
      g.set(o.pend);
      o.pend = g;
    }
    o.pend[o.nPend++] = id;
  }

  /** Turn a peer's pending changes into per-family UPDATE content, grouped by set (BIRD buckets). */
  private flush(p: PeerState, o: OutState, updates: PeerUpdate[]): void {
    const fams = new Map<Family, { withdrawn: Prefix[]; wIds: number[]; groups: Map<number, UpdateGroup> }>();
    const bucket = (f: Family) => {
      let b = fams.get(f);
      if (b === undefined) fams.set(f, (b = { withdrawn: [], wIds: [], groups: new Map() }));
      return b;
    };
    const addTo = (f: Family, sid: number, prefix: Prefix, pathId: number | null): void => {
      const b = bucket(f);
      let g = b.groups.get(sid);
      if (g === undefined) {
        const set = this.attrs.get(sid);
        const base = { attrs: set.attrs, nextHop: set.nextHop, prefixes: [] as Prefix[] };
        const withLl = set.linkLocal === undefined ? base : { ...base, linkLocal: set.linkLocal };
        g = pathId === null ? withLl : { ...withLl, pathIds: [] as number[] };
        b.groups.set(sid, g);
      }
      g.prefixes.push(prefix);
      if (pathId !== null) g.pathIds?.push(pathId);
    };
    // Pending prefixes arrive in runs sharing a set (one UPDATE's NLRI): remember the last group.
    let lastKey = -1;
    let lastList: Prefix[] | null = null;
    for (let i = 0; i < o.nPend; i++) {
      const id = o.pend[i]!;
      o.pendFlag[id] = 0;
      const v4 = this.pt.isV4(id);
      const prefix = this.pt.prefixOf(id);
      const sid = o.adv[id]! - 1;
      const key = sid < 0 ? (v4 ? -2 : -3) : sid * 2 + (v4 ? 0 : 1);
      if (key !== lastKey || lastList === null) {
        const f = v4 ? Fam.Ipv4Unicast : Fam.Ipv6Unicast;
        if (sid < 0) lastList = bucket(f).withdrawn;
        else {
          addTo(f, sid, prefix, null);
          lastList = bucket(f).groups.get(sid)!.prefixes;
          lastKey = key;
          continue;
        }
        lastKey = key;
      }
      lastList.push(prefix);
    }
    o.nPend = 0;
    for (const [key, sid] of o.apPending) {
      const id = Math.floor(key / 4294967296);
      const pathId = key % 4294967296;
      const prefix = this.pt.prefixOf(id);
      if (sid < 0) {
        const b = bucket(famOf(prefix));
        b.withdrawn.push(prefix);
        b.wIds.push(pathId);
      } else addTo(famOf(prefix), sid, prefix, pathId);
    }
    o.apPending.clear();
    const dumpDone = o.dumpCursor < 0;
    for (const f of p.cfg.families) {
      const b = fams.get(f);
      const eor = dumpDone && o.dumpEndOfRib;
      const borr = o.borr.has(f);
      const eorr = dumpDone && o.eorr.has(f);
      if (b === undefined && !eor && !borr && !eorr) continue;
      o.borr.delete(f);
      if (eorr) o.eorr.delete(f);
      const base = { peer: p.cfg.id, family: f, borr, withdrawn: b?.withdrawn ?? [], groups: [...(b?.groups.values() ?? [])], eorr, endOfRib: eor };
      updates.push(o.ap !== null && (b?.wIds.length ?? 0) > 0 ? { ...base, withdrawnPathIds: b!.wIds } : base);
    }
    if (dumpDone) o.dumpEndOfRib = false;
  }

  private anyDump(): boolean {
    for (const p of this.peers) if (p.out !== null && p.up && p.out.dumpCursor >= 0) return true;
    return false;
  }
}

/** Bytes of a prefix on the wire (for callers sizing batches). */
export function prefixWireBytes(p: Prefix): number {
  return 1 + ((prefixLength(p) + 7) >> 3);
}

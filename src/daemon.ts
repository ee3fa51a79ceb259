/**
 * The daemon: one owner wiring the pure modules to the world. Sessions feed the RIB; RIB drains
 * feed the sessions (packed UPDATEs) and the kernel sync (route intent); the control sockets read
 * snapshots. Every RIB step runs in bounded batches on the event loop, so keepalives and the
 * control sockets stay on time under a full table.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { loadConfig, formatConfigError } from '../config/index.js';
import type { Config } from '../config/types.js';
import type { Neighbor } from '../config/neighbors.js';
import { neighbors as neighborsOf } from '../config/neighbors.js';
import { diffConfig } from '../config/diff.js';
import type { ConfigChange } from '../config/diff.js';
import { Rib } from '../rib/rib.js';
import type { RibOptions } from '../rib/rib.js';
import type { RibAction, RibInput, RibOutput, RibTimer, PeerUpdate } from '../rib/messages.js';
import type { Pool } from '../rib/policy.js';
import type { Negotiated } from '../fsm/types.js';
import { packUpdates, encodeEndOfRib } from '../proto/packer.js';
import { fromTwoOctet, toTwoOctet } from '../proto/as4.js';
import { encodeRouteRefresh } from '../proto/route-refresh.js';
import { CeaseSubcode, describeError } from '../proto/errors.js';
import { RouteRefreshSubtype } from '../proto/constants.js';
import { familyAfi, familyName, familySafi } from '../proto/types.js';
import type { PathAttributes, UpdateMessage } from '../proto/types.js';
import { parseIpv4 } from '../proto/prefix.js';
import { SessionManager } from './session/manager.js';
import type { ListenEndpoint } from './session/manager.js';
import type { Peer } from './session/peer.js';
import { realClock } from './session/clock.js';
import type { Clock, TimerHandle } from './session/clock.js';
import { KernelSync } from './kernel/sync.js';
import type { Fib } from './kernel/fib.js';
import { NetlinkFib } from './kernel/netlink-fib.js';
import { compactPrefix, compactPrefixes, peerOptionsFor, ribPeerFor, routerIdNumber } from './peers.js';
import { DRAIN_SLICE_MS, drainBatch } from './schedule.js';


export interface DaemonOptions {
  readonly configFile: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
  readonly clock?: Clock;
  /** Inject a Fib (tests); default: netlink when kernel.program is true. */
  readonly fib?: Fib;
}

export interface PeerEntry {
  neighbor: Neighbor;
  readonly peer: Peer;
  /** Set while the session is Established (what the RIB knows the peer as). */
  negotiated: Negotiated | null;
  enabled: boolean;
}

function poolsOf(config: Config): Pool[] {
  return config.pools.map((p) => ({ cidr: compactPrefix(p.cidr), ipipMode: p.ipipMode, vxlanMode: p.vxlanMode, disableBgpExport: p.disableBgpExport }));
}

function timerKey(t: RibTimer): string {
  return t.kind === 'selectionDeferral' ? t.kind : `${t.kind}:${t.peer}`;
}

export class Daemon {
  config: Config;
  configLoadedMs: number;
  readonly configFile: string;
  readonly startedMs: number;
  readonly version: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly rib: Rib;
  readonly sessions: SessionManager;
  readonly kernel: KernelSync | null;
  /** Neighbours by address (the RIB's peer id). */
  readonly peers = new Map<string, PeerEntry>();
  /** wren restarted with its routes still in the kernel (RFC 4724 restarting speaker). */
  restarting = false;
  shuttingDown = false;
  private readonly ribTimers = new Map<string, TimerHandle>();
  private drainScheduled = false;
  private stopping: Promise<void> | null = null;
  private readonly onStopped: (() => void)[] = [];
  private readonly onStopping: ((reason: string) => void)[] = [];
  /** Neighbours being removed right now (their last state change is logged with this). */
  private readonly leaving = new Map<string, { readonly name: string; readonly reason: string }>();
  private readonly onReloading: ((phase: 'start' | 'end') => void)[] = [];
  /** Kernel route writes that failed since start (every attempt; exported as a metric). */
  kernelSyncErrors = 0;
  /** Event-loop delay since start (perf_hooks; 10 ms resolution), for `show status` and the stats log. */
  readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private statsTimer: NodeJS.Timeout | null = null;
  /** Per peer: when the next first-AS warning may be logged, and how many were held back since. */
  private readonly firstAsLog = new Map<string, { nextMs: number; suppressed: number }>();

  constructor(opts: DaemonOptions) {
    this.config = opts.config;
    this.configFile = opts.configFile;
    this.version = opts.version;
    this.log = opts.logger;
    this.clock = opts.clock ?? realClock;
    this.startedMs = this.clock.now();
    this.configLoadedMs = this.startedMs;
    this.rib = new Rib(this.ribOptions(opts.config, null));
    const listen: ListenEndpoint[] = [{ address: opts.config.listen.address, port: opts.config.listen.port }];
    // Bound to the node's IPv4 address (Calico bindMode NodeIP): IPv6 peers need the node's IPv6
    // address bound too, or their connections are refused and wren can only be the active side.
    const v6 = opts.config.nodeAddressV6?.address;
    if (v6 !== undefined && opts.config.listen.address.includes('.')) listen.push({ address: v6, port: opts.config.listen.port });
    this.sessions = new SessionManager({ listen, clock: this.clock, logger: this.log.child({ component: 'session' }) });
    const k = opts.config.kernel;
    const fib = opts.fib ?? (k.program ? new NetlinkFib({ table: k.table, protocol: k.protocol }) : null);
    this.kernel =
      fib === null
        ? null
        : new KernelSync({
            fib,
            persist: k.persist,
            logger: this.log.child({ component: 'kernel' }),
            onEvent: (ev) => {
              if (ev.type === 'write-failed') this.kernelSyncErrors++;
            },
          });
  }

  private ribOptions(config: Config, restart: NonNullable<RibOptions['restart']> | null): RibOptions {
    const pools = poolsOf(config);
    const cluster = config.routeReflector === undefined ? null : parseIpv4(config.routeReflector.clusterId);
    return {
      asn: config.asn,
      routerId: routerIdNumber(config),
      ...(cluster === null ? {} : { clusterId: cluster }),
      nodeAddress: { address: parseIpv4(config.nodeAddress.address) ?? 0, length: config.nodeAddress.prefixLength },
      ...(config.nodeAddressV6 === undefined ? {} : { nodeAddressV6: config.nodeAddressV6.address }),
      pools,
      // Calico's export filter ends in `reject`; a node with no pools is a general speaker.
      exportPolicy: { pools, extraExport: [], exportOutsidePools: pools.length === 0 },
      kernel: { tunnelDevice: config.kernel.tunnelDevice, ...(config.kernel.device === undefined ? {} : { nicDevice: config.kernel.device }) },
      ...(config.gracefulRestart.staleTimeSec === undefined ? {} : { stalePathSec: config.gracefulRestart.staleTimeSec }),
      ...(restart === null ? {} : { restart }),
    };
  }

  // --- lifecycle --------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.kernel !== null) {
      await this.kernel.start();
      const st = this.kernel.status();
      // Routes of ours already in the kernel: we are a restarting speaker (RFC 4724 §4.1). Keep
      // them, tell peers (R bit), and prune only after End-of-RIB from every peer or a timeout.
      this.restarting = this.config.gracefulRestart.enabled && st.unclaimed > 0;
      this.log.info({ event: 'kernel.start', found: st.unclaimed, restarting: this.restarting }, 'kernel routes read');
    }
    const ns = neighborsOf(this.config);
    if (this.restarting) {
      // Rebuild with the deferral (the RIB was created before the kernel was read).
      Object.assign(this, {
        rib: new Rib(
          this.ribOptions(this.config, {
            selectionDeferralSec: this.config.gracefulRestart.waitSec,
            expectedPeers: ns.filter((n) => n.enabled && n.gracefulRestart.enabled).map((n) => n.address),
          }),
        ),
      });
    }
    this.eventLoop.enable();
    this.startStatsLog();
    this.wireSessions();
    this.ribInput({ type: 'start' });
    if (this.config.blocks.length > 0) this.ribInput({ type: 'originate', prefixes: compactPrefixes(this.config.blocks), kind: 'block' });
    await this.sessions.listen();
    for (const n of ns) this.addNeighbor(n);
    if (!this.restarting) this.kernel?.converged();
    this.log.info(
      { event: 'daemon.start', routerId: this.config.routerId, asn: this.config.asn, peers: ns.length, listen: this.sessions.boundPorts() },
      'bgpd started',
    );
  }

  /** Graceful stop: Cease to every peer, kernel routes kept when persist is on. */
  stop(reason = 'shutdown'): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.shuttingDown = true;
    for (const fn of this.onStopping) fn(reason);
    this.stopping = (async () => {
      this.log.info({ event: 'daemon.stop', reason }, 'bgpd stopping');
      if (this.statsTimer !== null) clearInterval(this.statsTimer);
      this.statsTimer = null;
      for (const h of this.ribTimers.values()) this.clock.clearTimeout(h);
      this.ribTimers.clear();
      // With graceful restart on and routes persisting in the kernel, a stop is taken to be a
      // restart: close the TCP sessions without a NOTIFICATION, so every helper keeps our routes
      // (stale) for our restart time (RFC 4724 §4.2) and nothing flaps while bgpd is away. Without
      // graceful restart, peers get Cease / Administrative Shutdown and drop our routes at once.
      if (this.config.gracefulRestart.enabled && this.config.kernel.persist) {
        this.log.info({ event: 'daemon.stop', graceful: true }, 'closing sessions without NOTIFICATION (graceful restart)');
        await this.sessions.destroy();
      } else {
        await this.sessions.close(CeaseSubcode.AdministrativeShutdown);
      }
      if (this.kernel !== null) await this.kernel.stop();
      for (const fn of this.onStopped) fn();
    })();
    return this.stopping;
  }

  /** Event-loop delay since start, in milliseconds (0 before the first sample). */
  eventLoopDelay(): { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly meanMs: number; readonly samples: number } {
    const h = this.eventLoop;
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 };
    return { p50Ms: h.percentile(50) / 1e6, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, meanMs: h.mean / 1e6, samples: h.count };
  }

  /**
   * With WREN_STATS_INTERVAL_MS set (benchmarks), log RIB counts, memory and event-loop delay that
   * often, as `event: 'stats'` lines: O(1) per line, so a harness can watch a full-table load
   * without the O(routes) cost of polling `show status`/`show neighbors`. Off by default.
   */
  private startStatsLog(): void {
    const ms = Number(process.env['WREN_STATS_INTERVAL_MS'] ?? 0);
    if (!(ms > 0) || this.statsTimer !== null) return;
    // A second histogram, reset every line: the delay of each interval (the first is since start).
    const interval = monitorEventLoopDelay({ resolution: 10 });
    interval.enable();
    this.statsTimer = setInterval(() => {
      const r = this.rib.stats();
      const m = process.memoryUsage();
      const cpu = process.cpuUsage();
      const iv = interval.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: interval.percentile(99) / 1e6, maxMs: interval.max / 1e6 };
      interval.reset();
      this.log.info(
        { event: 'stats', rib: r, rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, eventLoop: this.eventLoopDelay(), eventLoopInterval: iv },
        'stats',
      );
    }, ms);
    this.statsTimer.unref();
  }

  whenStopped(fn: () => void): void {
    this.onStopped.push(fn);
  }

  /** Called synchronously when a stop begins (systemd STOPPING=1). */
  whenStopping(fn: (reason: string) => void): void {
    this.onStopping.push(fn);
  }

  /** Called when a reload (SIGHUP or the control socket) begins and ends (systemd RELOADING=1 / READY=1). */
  whenReloading(fn: (phase: 'start' | 'end') => void): void {
    this.onReloading.push(fn);
  }

  // --- sessions ---------------------------------------------------------------------------

  private wireSessions(): void {
    this.sessions.on('stateChange', (e) => {
      const entry = this.peers.get(e.peer.address);
      // A session closed by removeNeighbor() is no longer in `peers`; its name and why it went are kept aside.
      const leaving = this.leaving.get(e.peer.address);
      const name = entry?.neighbor.name ?? leaving?.name;
      const reason = e.text || (e.reason?.type === 'manual' ? (leaving?.reason ?? 'manual stop') : transitionReason(e.from, e.to));
      this.log.info(
        { event: 'fsm.transition', peer: e.peer.address, name, from: e.from, to: e.to, reason },
        `${name ?? e.peer.address}: ${e.from} -> ${e.to} (${reason})`,
      );
    });
    this.sessions.on('established', (e) => {
      const entry = this.peers.get(e.peer.address);
      if (entry === undefined) return;
      entry.negotiated = e.negotiated;
      this.ribInput({ type: 'peerUp', peer: ribPeerFor(this.config, entry.neighbor, e.negotiated) });
    });
    this.sessions.on('down', (e) => {
      const entry = this.peers.get(e.peer.address);
      if (entry === undefined || entry.negotiated === null) return;
      // RFC 4724 §4.2: the helper keeps the routes when the session dies without a NOTIFICATION
      // (TCP failure); a NOTIFICATION means the peer (or we) meant to drop them.
      const graceful = entry.negotiated.gracefulRestart !== null && (e.reason.type === 'socket' || e.reason.type === 'error');
      entry.negotiated = null;
      this.log.info(
        { event: 'rib.peerDown', peer: e.peer.address, name: entry.neighbor.name, graceful, reason: e.text },
        `${entry.neighbor.name}: routes ${graceful ? 'kept as stale (graceful restart helper)' : 'withdrawn'}`,
      );
      this.ribInput({ type: 'peerDown', peer: e.peer.address, graceful });
    });
    this.sessions.on('update', (e) => {
      const entry = this.peers.get(e.peer.address);
      if (entry === undefined || entry.negotiated === null) return;
      const o = e.outcome;
      for (const err of o.errors) {
        this.log.warn({ event: 'update.error', peer: e.peer.address, code: err.code, subcode: err.subcode, disposition: err.disposition }, err.message);
      }
      if (o.disableFamilies.length > 0) {
        // RFC 7606 §2 AFI/SAFI disable: wren runs one family per session, so it falls back to the
        // "session reset" approach — the error's own NOTIFICATION (3/9 Optional Attribute Error with
        // the attribute as data, RFC 4760 §7), not a Cease that would hide the cause from the peer.
        const err = o.errors.find((x) => x.disposition === 'afisafi-disable') ?? o.errors[0];
        if (err !== undefined) e.peer.updateError(err);
        else e.peer.automaticStop(CeaseSubcode.OtherConfigurationChange, 'malformed MP_REACH/MP_UNREACH (RFC 7606 AFI/SAFI disable)');
        return;
      }
      if (o.endOfRib !== undefined) {
        this.ribInput({ type: 'endOfRib', peer: e.peer.address, family: o.endOfRib });
        return;
      }
      const message = entry.negotiated.fourOctetAs ? stripAs4(o.message) : withAttrs(o.message, fromTwoOctet);
      if (o.treatAsWithdraw) e.peer.counters.updatesTreatAsWithdraw++;
      this.ribInput({ type: 'update', peer: e.peer.address, message, treatAsWithdraw: o.treatAsWithdraw });
    });
    this.sessions.on('routeRefresh', (e) => {
      const m = e.message;
      this.ribInput({ type: 'routeRefresh', peer: e.peer.address, family: (m.afi << 8) | m.safi, subtype: m.subtype });
    });
  }

  addNeighbor(n: Neighbor): void {
    const peer = this.sessions.addPeer(peerOptionsFor(this.config, n, { restarting: this.restarting }));
    this.peers.set(n.address, { neighbor: n, peer, negotiated: null, enabled: n.enabled });
    if (n.enabled) peer.start();
  }

  removeNeighbor(address: string, subcode: number = CeaseSubcode.PeerDeconfigured): void {
    const entry = this.peers.get(address);
    if (entry === undefined) return;
    if (entry.negotiated !== null) this.ribInput({ type: 'peerDown', peer: address, graceful: false });
    this.peers.delete(address);
    this.leaving.set(address, { name: entry.neighbor.name, reason: `config reload: Cease / ${describeError(6, subcode)} sent` });
    try {
      this.sessions.removePeer(address, subcode);
    } finally {
      this.leaving.delete(address);
    }
  }

  // --- the RIB ----------------------------------------------------------------------------

  ribInput(input: RibInput): void {
    const out = this.rib.handle(input, this.clock.now());
    this.applyRibOutput(out);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.shuttingDown) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      if (this.shuttingDown) return;
      let up = 0;
      for (const e of this.peers.values()) if (e.negotiated !== null) up++;
      const batch = drainBatch(up);
      const t0 = performance.now();
      let out: RibOutput;
      do {
        out = this.rib.drain(batch);
        this.applyRibOutput(out);
      } while (out.more && !this.shuttingDown && performance.now() - t0 < DRAIN_SLICE_MS);
      if (out.more) this.scheduleDrain();
    });
  }

  private applyRibOutput(out: RibOutput): void {
    for (const u of out.updates) this.sendUpdates(u);
    if (out.kernel.length > 0 && this.kernel !== null && this.config.kernel.program) this.kernel.setDesired(out.kernel);
    for (const a of out.actions) this.ribAction(a);
  }

  private sendUpdates(u: PeerUpdate): void {
    const entry = this.peers.get(u.peer);
    const neg = entry?.negotiated ?? null;
    if (entry === undefined || neg === null) return;
    const peer = entry.peer;
    const ctx = neg.tx;
    // Everything for this peer goes out in one socket write (see Peer.sendRawBatch).
    const msgs: Buffer[] = [];
    const rr = (subtype: number) =>
      msgs.push(encodeRouteRefresh({ type: 'route-refresh', afi: familyAfi(u.family), safi: familySafi(u.family), subtype }));
    if (u.borr) rr(RouteRefreshSubtype.BeginningOfRouteRefresh);
    const groups = neg.fourOctetAs ? u.groups : u.groups.map((g) => ({ ...g, attrs: toTwoOctet(g.attrs) }));
    try {
      packUpdates(u.family, u.withdrawn, groups, ctx, (msg) => msgs.push(msg), u.withdrawnPathIds);
    } catch (err) {
      // An attribute set too large for one message is skipped by the packer (everything else
      // was sent); say so loudly, it is a policy problem an operator must see.
      this.log.error({ event: 'update.encode', peer: u.peer, err: String(err) }, 'UPDATE could not be encoded');
    }
    if (u.eorr) rr(RouteRefreshSubtype.EndOfRouteRefresh);
    if (u.endOfRib) msgs.push(encodeEndOfRib(u.family, ctx));
    peer.sendRawBatch(msgs);
  }

  private ribAction(a: RibAction): void {
    switch (a.type) {
      case 'setTimer': {
        const key = timerKey(a.timer);
        const old = this.ribTimers.get(key);
        if (old !== undefined) this.clock.clearTimeout(old);
        const delay = Math.max(0, a.atMs - this.clock.now());
        this.ribTimers.set(
          key,
          this.clock.setTimeout(() => {
            this.ribTimers.delete(key);
            this.ribInput({ type: 'timer', timer: a.timer });
          }, delay),
        );
        return;
      }
      case 'cancelTimer': {
        const key = timerKey(a.timer);
        const h = this.ribTimers.get(key);
        if (h !== undefined) this.clock.clearTimeout(h);
        this.ribTimers.delete(key);
        return;
      }
      case 'sendRouteRefresh': {
        const entry = this.peers.get(a.peer);
        entry?.peer.sendRaw(encodeRouteRefresh({ type: 'route-refresh', afi: a.afi, safi: a.safi, subtype: a.subtype }));
        return;
      }
      case 'teardown': {
        const entry = this.peers.get(a.peer);
        this.log.warn({ event: 'peer.teardown', peer: a.peer, code: a.code, subcode: a.subcode }, a.reason);
        entry?.peer.automaticStop(a.subcode, undefined, a.data);
        return;
      }
      case 'maxPrefixWarning':
        this.log.warn({ event: 'peer.maxPrefix', peer: a.peer, limit: a.limit, count: a.count }, `${a.peer}: prefix limit ${a.limit} exceeded (${a.count})`);
        return;
      case 'firstAsMismatch':
        this.firstAsMismatch(a);
        return;
      case 'kernelPrune':
        this.restarting = false;
        this.kernel?.converged();
        return;
      case 'kernelReconcile':
        if (this.kernel !== null && this.config.kernel.program) {
          this.kernel.setDesired(this.rib.kernelSnapshot().map((r) => ({ prefix: r.prefix, route: r })));
        }
        return;
      case 'selectionDeferralComplete':
        this.log.info({ event: 'gr.deferralComplete', reason: a.reason }, `graceful restart: selection deferral over (${a.reason})`);
        return;
      default: {
        const never: never = a;
        throw new Error(`unhandled RIB action ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Count a first-AS treat-as-withdraw and warn, at most once per FIRST_AS_LOG_INTERVAL_MS per
   * peer: a misconfigured peer repeats it on every UPDATE, and the log must not drown in it.
   */
  private firstAsMismatch(a: Extract<RibAction, { type: 'firstAsMismatch' }>): void {
    const entry = this.peers.get(a.peer);
    if (entry !== undefined) {
      entry.peer.counters.updatesTreatAsWithdraw++;
      entry.peer.counters.firstAsMismatch++;
    }
    const now = this.clock.now();
    const st = this.firstAsLog.get(a.peer) ?? { nextMs: 0, suppressed: 0 };
    this.firstAsLog.set(a.peer, st);
    if (now < st.nextMs) {
      st.suppressed++;
      return;
    }
    const first = a.firstAs === null ? 'no leading AS (empty path or AS_SET)' : `first AS ${a.firstAs}`;
    this.log.warn(
      { event: 'update.firstAs', peer: a.peer, name: entry?.neighbor.name, peerAs: a.peerAs, firstAs: a.firstAs, prefixes: a.prefixes, suppressed: st.suppressed },
      `${entry?.neighbor.name ?? a.peer}: UPDATE with ${first}, not the peer's AS ${a.peerAs}: ${a.prefixes} route(s) treated as withdrawn (RFC 4271 §6.3, RFC 7606 §7.2)` +
        (st.suppressed > 0 ? `; ${st.suppressed} more since the last warning` : ''),
    );
    st.nextMs = now + FIRST_AS_LOG_INTERVAL_MS;
    st.suppressed = 0;
  }

  // --- reload -----------------------------------------------------------------------------

  async readConfig(): Promise<{ ok: true; config: Config } | { ok: false; errors: string[] }> {
    let text: string;
    try {
      text = await readFile(this.configFile, 'utf8');
    } catch (err) {
      return { ok: false, errors: [`${this.configFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`] };
    }
    const r = loadConfig(text, this.configFile);
    if (!r.ok) return { ok: false, errors: r.errors.map(formatConfigError) };
    return { ok: true, config: r.config };
  }

  /** Apply the config file again; the running config stays when the file is invalid. */
  async reload(): Promise<{ ok: true; changes: string[] } | { ok: false; errors: string[] }> {
    for (const fn of this.onReloading) fn('start');
    try {
      return await this.applyConfigFile();
    } finally {
      for (const fn of this.onReloading) fn('end');
    }
  }

  private async applyConfigFile(): Promise<{ ok: true; changes: string[] } | { ok: false; errors: string[] }> {
    const r = await this.readConfig();
    if (!r.ok) {
      this.log.error({ event: 'config.reload', ok: false, errors: r.errors }, 'reload rejected: the running config stays in force');
      return r;
    }
    const changes = diffConfig(this.config, r.config);
    const old = this.config;
    this.config = r.config;
    this.configLoadedMs = this.clock.now();
    // A new router id / AS, or becoming (or ceasing to be) a route reflector, needs a new RIB: the
    // cluster id is both an import loop check (RFC 4456 §8) and the export rule, and the RIB takes
    // it at construction. Every session restarts, so the per-peer and policy changes are covered.
    const reset = changes.find((c) => c.type === 'GlobalReset');
    const rrChanged = changes.some((c) => c.type === 'PolicyChanged' && c.routeReflectorChanged);
    const rebuilding = reset !== undefined || rrChanged;
    const described = changes.map((c) => describeChange(c, c.type === 'PeerChanged' && !rebuilding ? this.peerChangeAction(c) : 'none'));
    this.log.info({ event: 'config.reload', ok: true, changes: described }, `reload: ${changes.length} change(s)`);
    if (rebuilding) {
      this.rebuild(reset !== undefined ? reset.reason : 'route-reflector changed');
      for (const c of changes) if (!coveredByRebuild(c)) this.applyChange(c, old);
      return { ok: true, changes: described };
    }
    for (const c of changes) this.applyChange(c, old);
    return { ok: true, changes: described };
  }

  /** Restart every session on a new, empty RIB built from the current config. */
  private rebuild(reason: string): void {
    this.log.warn({ event: 'config.rebuild', reason }, `reload: every session restarts (${reason})`);
    const oldKernel = this.kernel !== null && this.config.kernel.program ? this.rib.kernelSnapshot() : [];
    for (const [addr] of [...this.peers]) this.removeNeighbor(addr, CeaseSubcode.OtherConfigurationChange);
    for (const h of this.ribTimers.values()) this.clock.clearTimeout(h);
    this.ribTimers.clear();
    Object.assign(this, { rib: new Rib(this.ribOptions(this.config, null)) });
    // The old RIB is never drained again: withdraw its kernel intent here (last state per prefix
    // wins in KernelSync, so the blocks the new RIB re-originates are not flapped).
    if (oldKernel.length > 0) this.kernel?.setDesired(oldKernel.map((r) => ({ prefix: r.prefix, route: null })));
    this.ribInput({ type: 'start' });
    if (this.config.blocks.length > 0) this.ribInput({ type: 'originate', prefixes: compactPrefixes(this.config.blocks), kind: 'block' });
    for (const n of neighborsOf(this.config)) this.addNeighbor(n);
  }

  private applyChange(c: ConfigChange, old: Config): void {
    switch (c.type) {
      case 'GlobalReset':
        // The identifier and AS are in every OPEN: every session restarts (RFC 4486 subcode 6).
        this.rebuild(c.reason);
        return;
      case 'PeerAdded':
        this.addNeighbor(c.neighbor);
        return;
      case 'PeerRemoved':
        this.removeNeighbor(c.neighbor.address, CeaseSubcode.PeerDeconfigured);
        return;
      case 'PeerChanged': {
        const action = this.peerChangeAction(c);
        if (action === 'reset') {
          this.removeNeighbor(c.before.address, CeaseSubcode.OtherConfigurationChange);
          this.addNeighbor(c.after);
          return;
        }
        const entry = this.peers.get(c.after.address);
        if (entry === undefined) return;
        // In place: session callbacks hold this entry (a copy would leave them the old one).
        entry.neighbor = c.after;
        if (c.after.enabled !== entry.enabled) {
          entry.enabled = c.after.enabled;
          if (c.after.enabled) entry.peer.start();
          else entry.peer.stop(CeaseSubcode.AdministrativeShutdown);
        }
        if (c.needsReexport && entry.negotiated !== null) {
          // New export settings: the Adj-RIB-Out(s) are recomputed, the Adj-RIB-In stays (a
          // peerUp here would drop every route the peer sent, with nothing to bring them back).
          const everyPeer = c.fields.includes('routeReflectorClient');
          this.ribInput({ type: 'peerExport', peer: ribPeerFor(this.config, c.after, entry.negotiated), everyPeer });
        }
        if (action === 'refresh' && entry.negotiated !== null) this.refreshImport(c.after, entry.negotiated, c.fields);
        return;
      }
      case 'PolicyChanged': {
        if (c.blocksRemoved.length > 0) this.ribInput({ type: 'withdrawLocal', prefixes: compactPrefixes(c.blocksRemoved) });
        if (c.blocksAdded.length > 0) this.ribInput({ type: 'originate', prefixes: compactPrefixes(c.blocksAdded), kind: 'block' });
        if (c.poolsAdded.length + c.poolsRemoved.length + c.poolsChanged.length > 0 || c.nodeNetworkChanged) {
          const pools = poolsOf(this.config);
          this.ribInput({ type: 'policyChanged', pools, exportPolicy: { pools, extraExport: [], exportOutsidePools: pools.length === 0 } });
        }
        return;
      }
      case 'LogLevelChanged':
        this.log.level = c.after;
        return;
      case 'ListenChanged':
      case 'ControlChanged':
      case 'KernelChanged':
      case 'MetricsChanged':
      case 'GracefulRestartChanged':
        // These need a restart of bgpd to take effect; say so rather than pretend.
        this.log.warn({ event: 'config.reload', change: c.type }, `${c.type}: takes effect when bgpd restarts`);
        return;
      case 'TimersChanged':
        // Each affected peer also has a PeerChanged entry that carries the action.
        return;
      default: {
        const never: never = c;
        void old;
        throw new Error(`unhandled config change ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Neighbours whose routes this speaker keeps as an RFC 4724 helper: the RIB's Restart timer (peer
   * away) or stale-path timer (peer back, End-of-RIB awaited) is running for them.
   */
  grHelperPeers(): Set<string> {
    const s = new Set<string>();
    for (const k of this.ribTimers.keys()) {
      if (k.startsWith('restart:')) s.add(k.slice('restart:'.length));
      else if (k.startsWith('stalePath:')) s.add(k.slice('stalePath:'.length));
    }
    return s;
  }

  /**
   * What a changed neighbour needs. New import rules are applied with ROUTE-REFRESH when the
   * session negotiated it (RFC 2918 §3: only then may we send one), else with a reset; a session
   * that is not Established picks the new rules up when it comes up.
   */
  private peerChangeAction(c: Extract<ConfigChange, { type: 'PeerChanged' }>): 'reset' | 'refresh' | 'none' {
    if (c.needsReset) return 'reset';
    if (!c.needsRefresh) return 'none';
    const neg = this.peers.get(c.after.address)?.negotiated ?? null;
    if (neg === null) return 'none';
    return neg.routeRefresh ? 'refresh' : 'reset';
  }

  /**
   * New import rules on a live session: the RIB drops what they refuse now, and ROUTE-REFRESH per
   * family brings back what the old rules refused (with RFC 7313 the peer's BoRR/EoRR also sweeps).
   */
  private refreshImport(n: Neighbor, neg: Negotiated, fields: readonly string[]): void {
    this.ribInput({ type: 'peerImport', peer: ribPeerFor(this.config, n, neg) });
    for (const f of neg.families) this.ribInput({ type: 'refreshIn', peer: n.address, family: f });
    this.log.info(
      { event: 'config.refresh', peer: n.address, name: n.name, fields, enhanced: neg.enhancedRouteRefresh },
      `${n.name}: import rules changed (${fields.join(', ')}): ROUTE-REFRESH sent, session kept`,
    );
  }

  // --- operator actions -------------------------------------------------------------------

  /**
   * `bgpctl neighbor X refresh in|out`. in: ask the peer to resend its routes (RFC 2918); out:
   * resend our Adj-RIB-Out, bracketed by BoRR/EoRR when RFC 7313 was negotiated — the same as
   * answering the peer's own ROUTE-REFRESH.
   */
  refreshNeighbor(entry: PeerEntry, direction: 'in' | 'out'): { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: string } {
    const n = entry.neighbor;
    const neg = entry.negotiated;
    if (neg === null) {
      return { ok: false, error: `${n.name}: session is ${entry.peer.status().state}, not Established; route refresh needs an established session` };
    }
    if (!neg.routeRefresh) {
      return { ok: false, error: `${n.name}: the peer did not negotiate Route Refresh (RFC 2918); 'bgpctl neighbor ${n.address} reset' re-learns by a new session` };
    }
    const fams = neg.families.map(familyName).join(', ');
    const enhanced = neg.enhancedRouteRefresh ? ', with BoRR/EoRR (RFC 7313)' : '';
    if (direction === 'in') {
      for (const f of neg.families) this.ribInput({ type: 'refreshIn', peer: n.address, family: f });
      this.log.info({ event: 'peer.refresh', peer: n.address, name: n.name, direction, enhanced: neg.enhancedRouteRefresh }, `${n.name}: ROUTE-REFRESH sent (${fams})`);
      return { ok: true, message: `ROUTE-REFRESH sent (${fams}); the peer resends its routes${enhanced}` };
    }
    for (const f of neg.families) this.ribInput({ type: 'routeRefresh', peer: n.address, family: f, subtype: RouteRefreshSubtype.Normal });
    const exported = this.rib.peerRouteCounts(n.address).exported;
    this.log.info({ event: 'peer.refresh', peer: n.address, name: n.name, direction, exported, enhanced: neg.enhancedRouteRefresh }, `${n.name}: re-sending the Adj-RIB-Out (${fams})`);
    return { ok: true, message: `re-sending the Adj-RIB-Out: ${exported} route${exported === 1 ? '' : 's'} (${fams})${enhanced}` };
  }

  findPeer(nameOrAddress: string): PeerEntry | undefined {
    const byAddr = this.peers.get(nameOrAddress);
    if (byAddr !== undefined) return byAddr;
    for (const e of this.peers.values()) if (e.neighbor.name === nameOrAddress) return e;
    return undefined;
  }
}

/** At most one first-AS warning per peer this often (the rest are counted in the next one). */
const FIRST_AS_LOG_INTERVAL_MS = 60_000;

/** Why a session moved forward (a NOTIFICATION or socket error carries its own text). */
function transitionReason(from: string, to: string): string {
  if (to === 'Established') return 'KEEPALIVE received';
  if (to === 'OpenConfirm') return 'OPEN received';
  if (to === 'OpenSent') return 'TCP connection up, OPEN sent';
  if (from === 'Idle') return to === 'Active' ? 'started (waiting for the peer to connect)' : 'started (connecting)';
  if (to === 'Active') return 'connection attempt over, waiting to retry or for the peer';
  if (to === 'Connect') return 'connect retry timer';
  return `${from} -> ${to}`;
}

/** Changes a full rebuild (new RIB, every session restarted from the new config) already applies. */
function coveredByRebuild(c: ConfigChange): boolean {
  return c.type === 'GlobalReset' || c.type === 'PeerAdded' || c.type === 'PeerRemoved' || c.type === 'PeerChanged' || c.type === 'PolicyChanged' || c.type === 'TimersChanged';
}

function describeChange(c: ConfigChange, peerAction: 'reset' | 'refresh' | 'none'): string {
  switch (c.type) {
    case 'GlobalReset':
      return `global reset (${c.reason})`;
    case 'PeerAdded':
      return `peer ${c.neighbor.name} added`;
    case 'PeerRemoved':
      return `peer ${c.neighbor.name} removed`;
    case 'PeerChanged':
      if (peerAction === 'refresh') return `peer ${c.name} changed (${c.fields.join(', ')}): route refresh, session kept`;
      if (peerAction === 'reset' && !c.needsReset) return `peer ${c.name} changed (${c.fields.join(', ')}): session reset (the peer has no Route Refresh)`;
      return `peer ${c.name} changed (${c.fields.join(', ')})${c.needsReset ? ': session reset' : ''}`;
    case 'PolicyChanged':
      return `policy changed (blocks +${c.blocksAdded.length}/-${c.blocksRemoved.length}, pools +${c.poolsAdded.length}/-${c.poolsRemoved.length}/~${c.poolsChanged.length})`;
    case 'LogLevelChanged':
      return `log level ${c.before} -> ${c.after}`;
    case 'TimersChanged':
      return `timers changed (${c.fields.join(', ')})`;
    default:
      return `${c.type} (takes effect at restart)`;
  }
}

function withAttrs(m: UpdateMessage, f: (a: PathAttributes) => PathAttributes): UpdateMessage {
  return m.attrs === null ? m : { ...m, attrs: f(m.attrs) };
}

/** RFC 6793 §4.1: between two 4-octet speakers AS4_PATH/AS4_AGGREGATOR mean nothing; drop them. */
function stripAs4(m: UpdateMessage): UpdateMessage {
  if (m.attrs === null || (m.attrs.as4Path === undefined && m.attrs.as4Aggregator === undefined)) return m;
  const { as4Path: _p, as4Aggregator: _a, ...rest } = m.attrs;
  return { ...m, attrs: rest };
}

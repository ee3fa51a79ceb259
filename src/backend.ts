/**
 * The daemon as the control sockets see it: snapshots of sessions, RIB and kernel rendered into
 * the read model of src/status.ts, and the operator actions. Nothing here keeps state of its own.
 */
import type { ControlBackend, DaemonStatus, KernelRouteStatus, NeighborStatus, RefreshDirection, RoutePath, SessionStateName } from './status.js';
import type { Daemon, PeerEntry } from './daemon.js';
import type { AttrSet } from '../rib/attrs.js';
import type { KernelRoute } from '../rib/kernel-types.js';
import type { FibRoute } from './kernel/fib.js';
import type { Capability } from '../proto/types.js';
import type { Prefix } from '../proto/prefix.js';
import { formatIpv4, formatPrefix, parsePrefix, parseIpv4, parseIpv6, prefixContainsAddress, prefixLength } from '../proto/prefix.js';
import { familyName } from '../proto/types.js';
import { AsPathSegmentType, Origin } from '../proto/constants.js';
import { CeaseSubcode } from '../proto/errors.js';
import { isLogLevel } from './log.js';
import type { KernelMetrics, RefusedConnections } from './metrics.js';

const ORIGIN_NAMES = { [Origin.Igp]: 'IGP', [Origin.Egp]: 'EGP', [Origin.Incomplete]: 'Incomplete' } as const;

function addressText(a: number | string): string {
  return typeof a === 'number' ? formatIpv4(a) : a;
}

export function asPathText(set: AttrSet): string {
  const segs = set.attrs.asPath ?? [];
  return segs
    .map((s) => {
      const asns = s.asns.join(' ');
      switch (s.type) {
        case AsPathSegmentType.Set:
          return `{${asns}}`;
        case AsPathSegmentType.ConfedSequence:
          return `(${asns})`;
        case AsPathSegmentType.ConfedSet:
          return `[${asns}]`;
        default:
          return asns;
      }
    })
    .join(' ');
}

function capabilityName(c: Capability): string {
  switch (c.type) {
    case 'multiprotocol':
      return `multiprotocol ${familyName((c.afi << 8) | c.safi)}`;
    case 'unknown':
      return `capability ${c.code}`;
    default:
      return c.type;
  }
}

/** The read-model state name from the FSM state. */
function stateName(s: string): SessionStateName {
  switch (s) {
    case 'Idle':
    case 'Connect':
    case 'Active':
    case 'OpenSent':
    case 'OpenConfirm':
    case 'Established':
      return s;
    default:
      return 'Idle';
  }
}

function installedText(r: FibRoute | null): string | null {
  if (r === null) return null;
  if (r.kind === 'blackhole') return `blackhole ${formatPrefix(r.prefix)}`;
  if (r.kind === 'other') return `${formatPrefix(r.prefix)} (type ${r.rtType})`;
  return `${formatPrefix(r.prefix)} ${r.nextHops.map((h) => `${h.gateway === null ? "" : `via ${addressText(h.gateway)}`}${h.device === null ? '' : ` dev ${h.device}`}${h.onlink ? ' onlink' : ''}`).join(' ')}`;
}

function desiredText(r: KernelRoute | null): string | null {
  if (r === null) return null;
  if (r.kind === 'blackhole') return `blackhole ${formatPrefix(r.prefix)}`;
  return `${formatPrefix(r.prefix)} ${r.nextHops.map((h) => `via ${addressText(h.gateway)}${h.device === undefined ? '' : ` dev ${h.device}`}${h.onlink ? ' onlink' : ''}`).join(' ')}`;
}

export class DaemonBackend implements ControlBackend {
  constructor(private readonly d: Daemon) {}

  status(): DaemonStatus {
    const d = this.d;
    const rs = d.rib.restartState();
    // Counters kept by the RIB: status and metrics are asked for often, and a walk of a full
    // table per call would stall the event loop.
    const rs4 = d.rib.stats();
    const v4 = rs4.bestV4;
    const v6 = rs4.bestV6;
    return {
      version: d.version,
      routerId: d.config.routerId,
      asn: d.config.asn,
      startedMs: d.startedMs,
      nowMs: d.clock.now(),
      configFile: d.configFile,
      configLoadedMs: d.configLoadedMs,
      gracefulRestart: {
        state: rs.deferring ? 'running' : 'none',
        waitingFor: rs.deferring ? [...d.peers.values()].filter((e) => e.negotiated === null && e.enabled).length : 0,
        remainingSec: null,
        waitTimeSec: d.config.gracefulRestart.waitSec,
      },
      routesV4: v4,
      routesV6: v6,
      shuttingDown: d.shuttingDown,
      eventLoop: d.eventLoopDelay(),
    };
  }

  neighbors(): readonly NeighborStatus[] {
    return [...this.d.peers.values()].map((e) => this.neighbor(e));
  }

  private neighbor(e: PeerEntry): NeighborStatus {
    const n = e.neighbor;
    const st = e.peer.status();
    const neg = st.negotiated;
    const c = st.counters;
    const local = e.peer.session.config.capabilities.map(capabilityName);
    const peerCaps = neg?.peerCapabilities.map(capabilityName) ?? [];
    const routes = this.d.rib.peerRouteCounts(n.address);
    return {
      name: n.name,
      address: n.address,
      afi: n.family,
      peerType: n.peerType,
      localAs: n.localAsn,
      peerAs: n.asn,
      state: stateName(st.state),
      enabled: e.enabled,
      sinceMs: st.since,
      lastError: st.lastError,
      routeReflectorClient: n.routeReflectorClient,
      passive: n.passive,
      sourceAddress: n.sourceAddress ?? (n.family === 'ipv6' ? (this.d.config.nodeAddressV6?.address ?? null) : this.d.config.nodeAddress.address),
      neighborId: neg === null ? null : formatIpv4(neg.peerBgpId),
      holdTimeSec: neg?.holdTimeSec ?? null,
      keepaliveSec: neg?.keepaliveSec ?? null,
      holdTimerRemainingSec: st.timers.hold?.remainingSec ?? null,
      keepaliveTimerRemainingSec: st.timers.keepalive?.remainingSec ?? null,
      capabilities: { local, peer: peerCaps, negotiated: neg === null ? [] : local.filter((x) => peerCaps.includes(x)) },
      gracefulRestart: {
        negotiated: neg?.gracefulRestart != null,
        restartTimeSec: neg?.gracefulRestart?.restartTimeSec ?? null,
        state: this.d.grHelperPeers().has(n.address) ? 'helper-stale' : 'none',
      },
      routes: { imported: routes.imported, exported: routes.exported, preferred: routes.preferred, filtered: 0 },
      messages: {
        in: {
          open: c.messagesIn.open,
          update: c.messagesIn.update,
          notification: c.messagesIn.notification,
          keepalive: c.messagesIn.keepalive,
          routeRefresh: c.messagesIn['route-refresh'],
          bytes: Object.values(c.bytesIn).reduce((a, b) => a + b, 0),
        },
        out: {
          open: c.messagesOut.open,
          update: c.messagesOut.update,
          notification: c.messagesOut.notification,
          keepalive: c.messagesOut.keepalive,
          routeRefresh: c.messagesOut['route-refresh'],
          bytes: Object.values(c.bytesOut).reduce((a, b) => a + b, 0),
        },
      },
      importUpdates: { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 },
      importWithdraws: { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 },
      updateErrors: { treatAsWithdraw: c.updatesTreatAsWithdraw, firstAsMismatch: c.firstAsMismatch },
    };
  }

  private peerName(id: string): { from: string; peerAddress: string | null } {
    const e = this.d.peers.get(id);
    if (e !== undefined) return { from: e.neighbor.name, peerAddress: e.neighbor.address };
    return { from: 'local', peerAddress: null };
  }

  private routePath(prefix: Prefix, set: AttrSet, peer: string, best: boolean, multipath: boolean, stale: boolean, reason: string, devices: Map<Prefix, string>): RoutePath {
    const a = set.attrs;
    const { from, peerAddress } = this.peerName(peer);
    const local = peerAddress === null;
    const kind = local && this.isBlock(prefix) ? 'blackhole' : 'unicast';
    const nh = local ? null : addressText(set.nextHop);
    return {
      prefix: formatPrefix(prefix),
      best,
      multipath,
      from,
      peerAddress,
      nextHop: nh,
      asPath: asPathText(set),
      origin: ORIGIN_NAMES[a.origin ?? Origin.Incomplete],
      localPref: a.localPref ?? null,
      med: a.med ?? null,
      communities: (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
      largeCommunities: (a.largeCommunities ?? []).map((l) => l.join(':')),
      originatorId: a.originatorId === undefined ? null : formatIpv4(a.originatorId),
      clusterList: (a.clusterList ?? []).map(formatIpv4),
      sinceMs: this.d.startedMs,
      stale,
      reason,
      kind,
      device: kind === 'blackhole' ? null : (devices.get(prefix) ?? null),
    };
  }

  private isBlock(prefix: Prefix): boolean {
    const text = formatPrefix(prefix);
    return this.d.config.blocks.some((b) => b.cidr === text);
  }

  /** Output devices per prefix from the kernel intent (BIRD prints `via X on tunl0`). */
  private devices(): Map<Prefix, string> {
    const m = new Map<Prefix, string>();
    for (const r of this.d.rib.kernelSnapshot()) {
      const dev = r.kind === 'unicast' ? r.nextHops[0]?.device : undefined;
      if (dev !== undefined) m.set(r.prefix, dev);
    }
    return m;
  }

  routes(filter?: { readonly prefix?: string; readonly family?: 'ipv4' | 'ipv6' }): readonly RoutePath[] {
    const out: RoutePath[] = [];
    const devices = this.devices();
    if (filter?.prefix !== undefined) {
      for (const p of this.lookup(filter.prefix)) {
        for (const x of this.d.rib.explain(p)) out.push(this.routePath(p, x.set, x.peer, x.best, x.multipath, x.stale, x.outcome, devices));
      }
      return out;
    }
    // Only a graceful-restart helper's peers can have stale best paths; ask the RIB about those.
    const gr = this.d.grHelperPeers();
    this.d.rib.forEachBest((prefix, best, peer, multipath) => {
      if (filter?.family === 'ipv4' && typeof prefix !== 'number') return;
      if (filter?.family === 'ipv6' && typeof prefix === 'number') return;
      const stale = gr.has(peer) && this.d.rib.explain(prefix).some((x) => x.best && x.stale);
      out.push(this.routePath(prefix, best, peer, true, multipath.length > 1, stale, 'best', devices));
    });
    return out;
  }

  /** An exact prefix, or for a bare address the longest prefix containing it (BIRD `show route for`). */
  private lookup(text: string): Prefix[] {
    const parsed = parsePrefix(text);
    if (parsed === null) return [];
    if (text.includes('/')) return [parsed.prefix];
    const addr = parseIpv4(text) ?? parseIpv6(text);
    if (addr === null) return [];
    let found: Prefix | null = null;
    this.d.rib.forEachBest((p) => {
      if (prefixContainsAddress(p, addr) && (found === null || prefixLength(p) > prefixLength(found))) found = p;
    });
    return found === null ? [] : [found];
  }

  kernel(): readonly KernelRouteStatus[] {
    const k = this.d.kernel;
    if (k === null) return [];
    return k.entries().map((e) => ({
      prefix: e.prefix,
      desired: desiredText(e.desired),
      installed: installedText(e.installed),
      state: e.state === 'synced' ? 'in-sync' : e.state === 'unclaimed' ? 'stale' : e.state,
      error: e.error ?? null,
      retries: e.attempts ?? 0,
    }));
  }

  /** Kernel counts for the metrics endpoint (O(1): the sync's own counters, not every entry). */
  kernelMetrics(): KernelMetrics | null {
    const k = this.d.kernel;
    if (k === null) return null;
    const st = k.status();
    return { desired: st.desired, installed: st.installed, failed: st.failed, pending: st.pending, syncErrors: this.d.kernelSyncErrors, converged: st.converged };
  }

  /** Connections the listeners closed before reading a byte (metrics). */
  refusedConnections(): RefusedConnections {
    return { unconfigured: this.d.sessions.refused, ttlSecurity: this.d.sessions.gtsmRefused };
  }

  memory(): { readonly routingTables: number; readonly routeAttributes: number; readonly protocols: number; readonly total: number } {
    const m = process.memoryUsage();
    const total = m.heapUsed + m.arrayBuffers;
    return { routingTables: m.arrayBuffers, routeAttributes: Math.max(0, m.heapUsed - m.arrayBuffers), protocols: 0, total };
  }

  async reload(): Promise<{ readonly ok: true; readonly changes: readonly string[] } | { readonly ok: false; readonly errors: readonly string[] }> {
    return this.d.reload();
  }

  async checkConfig(): Promise<{ readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] }> {
    const r = await this.d.readConfig();
    return r.ok ? { ok: true } : { ok: false, errors: r.errors };
  }

  neighborAction(name: string, action: 'enable' | 'disable' | 'reset'): { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: string } {
    const e = this.d.findPeer(name);
    if (e === undefined) return { ok: false, error: `no such neighbor: ${name}` };
    switch (action) {
      case 'disable':
        if (!e.enabled) return { ok: true, message: `${e.neighbor.name}: already disabled` };
        e.enabled = false;
        e.peer.stop(CeaseSubcode.AdministrativeShutdown);
        return { ok: true, message: `${e.neighbor.name}: disabled` };
      case 'enable':
        if (e.enabled) return { ok: true, message: `${e.neighbor.name}: already enabled` };
        e.enabled = true;
        e.peer.start();
        return { ok: true, message: `${e.neighbor.name}: enabled` };
      case 'reset':
        e.enabled = true;
        e.peer.reset();
        return { ok: true, message: `${e.neighbor.name}: reset` };
    }
  }

  neighborRefresh(name: string, direction: RefreshDirection): { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: string } {
    const e = this.d.findPeer(name);
    if (e === undefined) return { ok: false, error: `no such neighbor: ${name}` };
    return this.d.refreshNeighbor(e, direction);
  }

  setLogLevel(level: string): { readonly ok: true } | { readonly ok: false; readonly error: string } {
    if (!isLogLevel(level)) return { ok: false, error: `unknown log level '${level}' (fatal, error, warn, info, debug, trace)` };
    this.d.log.level = level;
    return { ok: true };
  }

  shutdown(): void {
    void this.d.stop('control socket');
  }
}

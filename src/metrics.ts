/**
 * Prometheus metrics: `metricsText(snapshot)` renders the text exposition format (version 0.0.4)
 * from plain values (the ControlBackend read model plus a few process numbers), and
 * `MetricsServer` serves it on `metrics.listen` (GET /metrics; everything else is a 404).
 *
 * The formatter is pure so its output is golden-tested; the server only gathers a snapshot per
 * scrape. Event-loop delay comes from perf_hooks.monitorEventLoopDelay; its histogram is reset
 * after every scrape, so p50/p99/max describe the interval since the previous scrape.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { DaemonStatus, NeighborStatus, SessionStateName } from './status.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const SESSION_STATES: readonly SessionStateName[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
const MESSAGE_TYPES = ['open', 'update', 'notification', 'keepalive', 'routeRefresh'] as const;
/** The wire names of the message types, as the `type` label spells them. */
const MESSAGE_TYPE_LABEL: Record<(typeof MESSAGE_TYPES)[number], string> = {
  open: 'open',
  update: 'update',
  notification: 'notification',
  keepalive: 'keepalive',
  routeRefresh: 'route_refresh',
};

export interface KernelMetrics {
  /** Routes the RIB wants in the kernel. */
  readonly desired: number;
  /** Routes of ours the kernel holds. */
  readonly installed: number;
  /** Prefixes whose last write failed (retrying). */
  readonly failed: number;
  readonly pending: number;
  /** Failed kernel writes since start (every attempt). */
  readonly syncErrors: number;
  readonly converged: boolean;
}

/** Incoming connections closed before any BGP byte was read, by reason (since start). */
export interface RefusedConnections {
  /** From an address with no configured peer (RFC 4271 §8.2.1). */
  readonly unconfigured: number;
  /** From a ttl-security peer whose SYN arrived with too low a TTL (RFC 5082 §3). */
  readonly ttlSecurity: number;
}

export interface MetricsSnapshot {
  readonly status: DaemonStatus;
  readonly refused: RefusedConnections;
  readonly neighbors: readonly NeighborStatus[];
  /** Null when the daemon does not program the kernel (kernel.program: false). */
  readonly kernel: KernelMetrics | null;
  /** Event-loop delay in seconds since the previous scrape. */
  readonly eventLoop: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly memory: { readonly rss: number; readonly heapUsed: number; readonly heapTotal: number; readonly external: number };
}

/** Label value escaping of the text format: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

type Labels = Readonly<Record<string, string>>;

/** Collects samples family by family; each family gets its HELP and TYPE once, in order. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [Labels, number])[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      const l = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
      this.lines.push(`${name}${l} ${formatValue(value)}`);
    }
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

/** The whole exposition for one snapshot. Pure: the same snapshot always gives the same text. */
export function metricsText(s: MetricsSnapshot): string {
  const x = new Exposition();
  const st = s.status;
  const peer = (n: NeighborStatus): Labels => ({ peer: n.address, name: n.name });
  const perPeer = (f: (n: NeighborStatus) => number): [Labels, number][] => s.neighbors.map((n) => [peer(n), f(n)]);

  x.family('wren_build_info', 'gauge', 'Always 1; the labels carry the version, router id and AS.', [
    [{ version: st.version, router_id: st.routerId, asn: String(st.asn) }, 1],
  ]);
  x.family('wren_start_time_seconds', 'gauge', 'Start time of bgpd, seconds since the Unix epoch.', [[{}, seconds(st.startedMs)]]);
  x.family('wren_uptime_seconds', 'gauge', 'Seconds since bgpd started.', [[{}, seconds(st.nowMs - st.startedMs)]]);
  x.family('wren_config_load_time_seconds', 'gauge', 'When the running config was loaded (start or last successful reload), seconds since the Unix epoch.', [
    [{}, seconds(st.configLoadedMs)],
  ]);
  x.family('wren_graceful_restart_running', 'gauge', '1 while bgpd restarts gracefully (RFC 4724 selection deferral), else 0.', [
    [{}, st.gracefulRestart.state === 'running' ? 1 : 0],
  ]);

  x.family(
    'wren_bgp_peer_state',
    'gauge',
    'BGP session state: 1 for the current state of each peer, 0 for the others.',
    s.neighbors.flatMap((n) => SESSION_STATES.map((state): [Labels, number] => [{ ...peer(n), state }, n.state === state ? 1 : 0])),
  );
  x.family('wren_bgp_peer_up', 'gauge', '1 when the session is Established, else 0.', perPeer((n) => (n.state === 'Established' ? 1 : 0)));
  x.family('wren_bgp_peer_enabled', 'gauge', '0 when the session is administratively disabled, else 1.', perPeer((n) => (n.enabled ? 1 : 0)));
  x.family('wren_bgp_peer_since_seconds', 'gauge', 'Time of the last session state change, seconds since the Unix epoch.', perPeer((n) => seconds(n.sinceMs)));
  x.family('wren_bgp_peer_uptime_seconds', 'gauge', 'Seconds in the current session state.', perPeer((n) => seconds(Math.max(0, st.nowMs - n.sinceMs))));
  for (const dir of ['in', 'out'] as const) {
    const word = dir === 'in' ? 'received' : 'sent';
    x.family(
      `wren_bgp_messages_${word}_total`,
      'counter',
      `BGP messages ${word}, by type.`,
      s.neighbors.flatMap((n) => MESSAGE_TYPES.map((t): [Labels, number] => [{ ...peer(n), type: MESSAGE_TYPE_LABEL[t] }, n.messages[dir][t]])),
    );
    x.family(`wren_bgp_bytes_${word}_total`, 'counter', `Bytes of BGP messages ${word}.`, perPeer((n) => n.messages[dir].bytes));
  }
  x.family('wren_bgp_prefixes_received', 'gauge', 'Paths in the Adj-RIB-In of the peer (accepted).', perPeer((n) => n.routes.imported));
  x.family('wren_bgp_prefixes_advertised', 'gauge', 'Prefixes in the Adj-RIB-Out of the peer.', perPeer((n) => n.routes.exported));
  x.family('wren_bgp_prefixes_best', 'gauge', 'Prefixes whose best path comes from the peer.', perPeer((n) => n.routes.preferred));

  x.family('wren_rib_routes', 'gauge', 'Prefixes in the Loc-RIB, by address family.', [
    [{ family: 'ipv4' }, st.routesV4],
    [{ family: 'ipv6' }, st.routesV6],
  ]);

  if (s.kernel !== null) {
    const k = s.kernel;
    x.family('wren_kernel_routes', 'gauge', 'Kernel routes owned by bgpd: desired (RIB intent), installed, pending (not yet written), failed (last write failed).', [
      [{ state: 'desired' }, k.desired],
      [{ state: 'installed' }, k.installed],
      [{ state: 'pending' }, k.pending],
      [{ state: 'failed' }, k.failed],
    ]);
    x.family('wren_kernel_sync_errors_total', 'counter', 'Kernel route writes that failed since bgpd started.', [[{}, k.syncErrors]]);
    x.family('wren_kernel_converged', 'gauge', '1 once the kernel holds what the RIB wants (stale routes pruned), else 0.', [[{}, k.converged ? 1 : 0]]);
  }

  x.family('wren_connections_refused_total', 'counter', 'Incoming TCP connections closed before any BGP message was read: unconfigured (no peer has the address), ttl_security (SYN TTL below the peer\'s ttl-security minimum).', [
    [{ reason: 'unconfigured' }, s.refused.unconfigured],
    [{ reason: 'ttl_security' }, s.refused.ttlSecurity],
  ]);

  x.family('wren_event_loop_delay_p50_seconds', 'gauge', 'Median event-loop delay since the previous scrape.', [[{}, s.eventLoop.p50]]);
  x.family('wren_event_loop_delay_p99_seconds', 'gauge', '99th percentile event-loop delay since the previous scrape.', [[{}, s.eventLoop.p99]]);
  x.family('wren_event_loop_delay_max_seconds', 'gauge', 'Largest event-loop delay since the previous scrape.', [[{}, s.eventLoop.max]]);

  x.family('wren_process_resident_memory_bytes', 'gauge', 'Resident set size of bgpd.', [[{}, s.memory.rss]]);
  x.family('wren_process_heap_used_bytes', 'gauge', 'V8 heap in use.', [[{}, s.memory.heapUsed]]);
  x.family('wren_process_heap_total_bytes', 'gauge', 'V8 heap allocated.', [[{}, s.memory.heapTotal]]);
  x.family('wren_process_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS (Buffers included).', [[{}, s.memory.external]]);
  return x.text();
}

/** What the server asks for on every scrape (the daemon's read model). */
export interface MetricsSource {
  status(): DaemonStatus;
  neighbors(): readonly NeighborStatus[];
  kernelMetrics(): KernelMetrics | null;
  refusedConnections(): RefusedConnections;
}

export interface MetricsServerOptions {
  readonly address: string;
  readonly port: number;
  readonly source: MetricsSource;
  readonly logger: Logger;
}

const NS_PER_S = 1e9;

export class MetricsServer {
  private readonly histogram: IntervalHistogram;

  private constructor(
    private readonly server: Server,
    private readonly source: MetricsSource,
    private readonly log: Logger,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  /** Listen on address:port; rejects when the port cannot be bound. */
  static async listen(opts: MetricsServerOptions): Promise<MetricsServer> {
    const server = createServer();
    const m = new MetricsServer(server, opts.source, opts.logger);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => m.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: opts.address, port: opts.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      m.histogram.disable();
      throw err;
    }
    server.on('error', (err) => opts.logger.error({ event: 'metrics.error', err: String(err) }, 'metrics listener error'));
    const a = m.address();
    opts.logger.info({ event: 'metrics.listen', address: a.address, port: a.port }, `metrics on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
    return m;
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The snapshot a scrape renders (resets the event-loop histogram). */
  snapshot(): MetricsSnapshot {
    const h = this.histogram;
    // The histogram is empty until the first sample; report 0 rather than its sentinel values.
    const has = h.count > 0;
    const eventLoop = {
      p50: has ? h.percentile(50) / NS_PER_S : 0,
      p99: has ? h.percentile(99) / NS_PER_S : 0,
      max: has ? h.max / NS_PER_S : 0,
    };
    h.reset();
    const mem = process.memoryUsage();
    return {
      status: this.source.status(),
      neighbors: this.source.neighbors(),
      kernel: this.source.kernelMetrics(),
      refused: this.source.refusedConnections(),
      eventLoop,
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: GET /metrics\n');
      return;
    }
    let body: string;
    try {
      body = metricsText(this.snapshot());
    } catch (err) {
      this.log.error({ event: 'metrics.scrape', err: String(err) }, 'metrics scrape failed');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('metrics unavailable\n');
      return;
    }
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async close(): Promise<void> {
    this.histogram.disable();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

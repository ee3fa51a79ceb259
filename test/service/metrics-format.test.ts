// metricsText(): the Prometheus text exposition built from plain snapshots. A golden file pins the
// whole output for a node with two peers (one Established with traffic, one Active with a name
// that needs escaping); further checks hold for any output: every family has HELP and TYPE once,
// before its samples, names are Prometheus-style, and label values are escaped.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { metricsText, escapeLabel } from '../../src/metrics.js';
import type { MetricsSnapshot } from '../../src/metrics.js';
import type { NeighborStatus } from '../../src/status.js';

const GOLDEN = fileURLToPath(new URL('./fixtures/metrics.golden.txt', import.meta.url));

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function neighbor(over: Partial<NeighborStatus> & Pick<NeighborStatus, 'name' | 'address' | 'state'>): NeighborStatus {
  const zero = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0, bytes: 0 };
  return {
    afi: 'ipv4',
    peerType: 'node-to-node mesh',
    localAs: 64512,
    peerAs: 64512,
    enabled: true,
    sinceMs: T0,
    lastError: '',
    routeReflectorClient: false,
    passive: false,
    sourceAddress: '10.160.105.6',
    neighborId: null,
    holdTimeSec: null,
    keepaliveSec: null,
    holdTimerRemainingSec: null,
    keepaliveTimerRemainingSec: null,
    capabilities: { local: [], peer: [], negotiated: [] },
    gracefulRestart: { negotiated: false, restartTimeSec: null, state: 'none' },
    routes: { imported: 0, exported: 0, preferred: 0, filtered: 0 },
    messages: { in: zero, out: zero },
    importUpdates: { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 },
    importWithdraws: { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 },
    ...over,
  };
}

export const SNAPSHOT: MetricsSnapshot = {
  status: {
    version: '0.1.0',
    routerId: '10.160.105.6',
    asn: 64512,
    startedMs: T0,
    nowMs: T0 + 3_723_456,
    configFile: '/etc/bgpd/bgpd.conf',
    configLoadedMs: T0 + 60_000,
    gracefulRestart: { state: 'none', waitingFor: 0, remainingSec: null },
    routesV4: 3,
    routesV6: 1,
    shuttingDown: false,
  },
  neighbors: [
    neighbor({
      name: 'Mesh_10_160_105_7',
      address: '10.160.105.7',
      state: 'Established',
      sinceMs: T0 + 2_000,
      routes: { imported: 1, exported: 1, preferred: 1, filtered: 0 },
      messages: {
        in: { open: 1, update: 2, notification: 0, keepalive: 40, routeRefresh: 0, bytes: 1020 },
        out: { open: 1, update: 3, notification: 0, keepalive: 41, routeRefresh: 1, bytes: 1111 },
      },
    }),
    neighbor({ name: 'Global_10_0_0_1 "rr"\\x\nnext', address: '10.0.0.1', peerType: 'global', state: 'Active', enabled: false, sinceMs: T0 + 10_500 }),
  ],
  kernel: { desired: 3, installed: 2, failed: 1, pending: 0, syncErrors: 4, converged: true },
  refused: { unconfigured: 10000, ttlSecurity: 13 },
  eventLoop: { p50: 0.010223615, p99: 0.012582911, max: 0.0431 },
  memory: { rss: 61_440_000, heapUsed: 12_000_000, heapTotal: 20_000_000, external: 1_500_000 },
};

t.test('golden exposition', async (t) => {
  const text = metricsText(SNAPSHOT);
  if (process.env['WREN_UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, text);
  t.equal(text, readFileSync(GOLDEN, 'utf8'), 'matches test/service/fixtures/metrics.golden.txt (WREN_UPDATE_GOLDEN=1 rewrites it)');
  t.equal(metricsText(SNAPSHOT), text, 'pure: the same snapshot gives the same text');
});

t.test('well-formed for the text format', async (t) => {
  const text = metricsText(SNAPSHOT);
  t.ok(text.endsWith('\n'), 'ends with a newline');
  const declared = new Map<string, string>();
  const helped = new Set<string>();
  const seenSamplesOf = new Set<string>();
  for (const line of text.split('\n').slice(0, -1)) {
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    const type = /^# TYPE (\S+) (gauge|counter)$/.exec(line);
    if (help !== null) {
      t.notOk(helped.has(help[1]!), `HELP ${help[1]} once`);
      helped.add(help[1]!);
      continue;
    }
    if (type !== null) {
      t.notOk(declared.has(type[1]!), `TYPE ${type[1]} once`);
      t.ok(helped.has(type[1]!), `HELP before TYPE for ${type[1]}`);
      declared.set(type[1]!, type[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (m === null) {
      t.fail(`not a valid sample line: ${JSON.stringify(line)}`);
      continue;
    }
    const name = m[1]!;
    if (!declared.has(name)) t.fail(`sample of ${name} before its TYPE`);
    seenSamplesOf.add(name);
  }
  for (const name of declared.keys()) {
    t.match(name, /^wren_[a-z0-9_]+$/, `${name}: wren_ prefix, snake case`);
    if (declared.get(name) === 'counter') t.match(name, /_total$/, `${name}: counters end in _total`);
  }
  t.same([...declared.keys()].filter((n) => !seenSamplesOf.has(n)), [], 'every family has samples in this snapshot');
  for (const must of [
    'wren_bgp_peer_state',
    'wren_bgp_peer_up',
    'wren_bgp_peer_since_seconds',
    'wren_uptime_seconds',
    'wren_bgp_messages_received_total',
    'wren_bgp_messages_sent_total',
    'wren_bgp_prefixes_received',
    'wren_bgp_prefixes_advertised',
    'wren_rib_routes',
    'wren_kernel_routes',
    'wren_kernel_sync_errors_total',
    'wren_event_loop_delay_p50_seconds',
    'wren_event_loop_delay_p99_seconds',
    'wren_event_loop_delay_max_seconds',
    'wren_process_resident_memory_bytes',
    'wren_process_heap_used_bytes',
  ]) {
    t.ok(declared.has(must), `${must} is exported`);
  }
});

t.test('values', async (t) => {
  const text = metricsText(SNAPSHOT);
  const lines = new Set(text.split('\n'));
  t.ok(lines.has('wren_bgp_peer_up{peer="10.160.105.7",name="Mesh_10_160_105_7"} 1'));
  t.ok(lines.has('wren_bgp_peer_state{peer="10.160.105.7",name="Mesh_10_160_105_7",state="Established"} 1'));
  t.ok(lines.has('wren_bgp_peer_state{peer="10.160.105.7",name="Mesh_10_160_105_7",state="Active"} 0'));
  t.equal(text.split('\n').filter((l) => l.startsWith('wren_bgp_peer_state{') && l.endsWith(' 1')).length, 2, 'exactly one state is 1 per peer');
  t.ok(lines.has('wren_bgp_messages_received_total{peer="10.160.105.7",name="Mesh_10_160_105_7",type="keepalive"} 40'));
  t.ok(lines.has('wren_bgp_messages_sent_total{peer="10.160.105.7",name="Mesh_10_160_105_7",type="route_refresh"} 1'));
  t.ok(lines.has('wren_uptime_seconds 3723.456'));
  t.ok(lines.has('wren_bgp_peer_uptime_seconds{peer="10.160.105.7",name="Mesh_10_160_105_7"} 3721.456'));
  t.ok(lines.has('wren_kernel_routes{state="failed"} 1'));
  t.ok(lines.has('wren_kernel_sync_errors_total 4'));
  t.ok(lines.has('wren_rib_routes{family="ipv6"} 1'));
  t.ok(lines.has('wren_event_loop_delay_max_seconds 0.0431'));
  // label escaping: backslash, quote, newline
  t.ok(lines.has('wren_bgp_peer_enabled{peer="10.0.0.1",name="Global_10_0_0_1 \\"rr\\"\\\\x\\nnext"} 0'), 'escaped name label');
  t.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

t.test('no kernel section without kernel programming, no peers is fine', async (t) => {
  const text = metricsText({ ...SNAPSHOT, kernel: null, neighbors: [] });
  t.notMatch(text, /wren_kernel_/, 'kernel families left out');
  t.match(text, /# TYPE wren_bgp_peer_up gauge\n# HELP wren_bgp_peer_enabled/, 'families without samples keep HELP/TYPE');
  t.notMatch(text, /wren_bgp_peer_up\{/);
});

// bgpctl end to end in-process: main(argv, io) against a JsonSocketServer over a fake backend.
// Every command's text output is pinned (snapshots in tap-snapshots/), --json is parsed, exit codes
// 0/1/2 are checked.
process.env['TZ'] = 'UTC';
import t from 'tap';
import { HELP_COMMANDS, HELP_TEXT, main } from '../../src/control/bgpctl-main.js';
import { JsonSocketServer } from '../../src/control/json-socket.js';
import { parseCommand } from '../../src/control/bgpctl-grammar.js';
import { at, bgpRoute, neighbor, route, seedNode, tempSocket } from './fixtures.js';
import type { FakeBackend } from './fixtures.js';

async function bgpctl(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), timeoutMs: 5000 });
  return { code, stdout, stderr };
}

function seedDaemon(): FakeBackend {
  const b = seedNode({ now: '08:35:04', started: '06:21:40' });
  b.statusValue = { ...b.statusValue, version: '0.1.0', configFile: '/etc/bgpd/bgpd.conf' };
  b.neighborList = [neighbor('10.160.105.7', { sinceMs: at('06:21:43') }), neighbor('10.160.105.8', { sinceMs: at('06:21:44') })];
  b.routeList = [
    bgpRoute('172.18.101.64/26', '10.160.105.7', { sinceMs: at('06:21:43'), device: 'tunl0' }),
    bgpRoute('172.18.96.128/26', '10.160.105.8', { sinceMs: at('06:21:44'), device: 'tunl0', reason: 'lowest router id (10.160.105.8 < 10.160.105.9)' }),
    bgpRoute('172.18.96.128/26', '10.160.105.9', { best: false, multipath: true, sinceMs: at('06:22:00'), device: 'tunl0', reason: 'multipath: equal up to router id' }),
    route('172.18.64.0/26', { kind: 'blackhole', sinceMs: at('06:21:40'), reason: 'locally originated block' }),
  ];
  b.kernelList = [
    { prefix: '172.18.64.0/26', desired: 'blackhole', installed: 'blackhole', state: 'in-sync', error: null, retries: 0 },
    { prefix: '172.18.101.64/26', desired: 'via 10.160.105.7 dev tunl0 onlink', installed: 'via 10.160.105.7 dev tunl0 onlink', state: 'in-sync', error: null, retries: 0 },
    { prefix: '172.18.96.128/26', desired: 'via 10.160.105.8 dev tunl0 onlink', installed: null, state: 'failed', error: 'RTNETLINK: Network is unreachable', retries: 3 },
  ];
  return b;
}

const b = seedDaemon();
const path = tempSocket('bgpd.sock');
const server = await JsonSocketServer.listen({ path, backend: b });
t.teardown(() => server.close());
const S = ['-s', path];

t.test('show neighbors: the seed calicoctl table', async (t) => {
  const r = await bgpctl([...S, 'show', 'neighbors']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.equal(
    r.stdout,
    'IPv4 BGP status\n' +
      '+--------------+-------------------+-------+----------+-------------+\n' +
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |\n' +
      '+--------------+-------------------+-------+----------+-------------+\n' +
      '| 10.160.105.7 | node-to-node mesh | up    | 06:21:43 | Established |\n' +
      '| 10.160.105.8 | node-to-node mesh | up    | 06:21:44 | Established |\n' +
      '+--------------+-------------------+-------+----------+-------------+\n' +
      '\n' +
      'IPv6 BGP status\n' +
      'No IPv6 peers found.\n',
  );
  const j = await bgpctl([...S, 'show', 'neighbors', '--json']);
  const parsed = JSON.parse(j.stdout) as { neighbors: Array<{ name: string }>; table: Array<{ state: string; info: string }> };
  t.same(parsed.neighbors.map((n) => n.name), ['Mesh_10_160_105_7', 'Mesh_10_160_105_8']);
  t.same(parsed.table.map((r) => `${r.state} ${r.info}`), ['up Established', 'up Established']);
});

t.test('show neighbors: down, start and v6 rows', async (t) => {
  const b2 = seedDaemon();
  b2.neighborList = [
    neighbor('10.160.105.7', { enabled: false, sinceMs: at('08:00:00') }),
    neighbor('10.160.105.8', { state: 'Active', passive: false, lastError: 'Socket: Connection refused', sinceMs: at('08:01:00') }),
    neighbor('fd00::8', { name: 'Mesh_fd00__8', sinceMs: at('08:02:00') }),
  ];
  const p = tempSocket('b2.sock');
  const s2 = await JsonSocketServer.listen({ path: p, backend: b2 });
  const r = await bgpctl(['-s', p, 'show', 'neighbors']);
  await s2.close();
  t.equal(r.code, 0);
  t.matchSnapshot(r.stdout);
  t.match(r.stdout, '| 10.160.105.7 | node-to-node mesh | down  | 08:00:00 | Disabled                       |');
  t.match(r.stdout, '| fd00::8      | node-to-node mesh | up    | 08:02:00 | Established |');
});

for (const cmd of [
  ['show', 'status'],
  ['show', 'neighbor', '10.160.105.7'],
  ['show', 'routes'],
  ['show', 'routes', '172.18.96.128/26'],
  ['show', 'routes', '172.18.96.130'],
  ['show', 'kernel'],
  ['reload'],
  ['neighbor', '10.160.105.8', 'reset'],
  ['log', 'level', 'debug'],
]) {
  t.test(`bgpctl ${cmd.join(' ')}`, async (t) => {
    const r = await bgpctl([...S, ...cmd]);
    t.equal(r.code, 0, 'exit 0');
    t.equal(r.stderr, '');
    t.matchSnapshot(r.stdout, 'text');
    const j = await bgpctl([...S, ...cmd, '--json']);
    t.equal(j.code, 0);
    t.doesNotThrow(() => JSON.parse(j.stdout), 'json parses');
    t.matchSnapshot(JSON.parse(j.stdout), 'json');
  });
}

t.test('reload with errors: exit 1, errors listed, old config kept', async (t) => {
  b.reloadResult = { ok: false, errors: ['/etc/bgpd/bgpd.conf:4:3: unknown key "asnn"'] };
  t.teardown(() => (b.reloadResult = { ok: true, changes: [] }));
  const r = await bgpctl([...S, 'reload']);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'bgpctl: configuration has errors; still running the previous configuration\n  /etc/bgpd/bgpd.conf:4:3: unknown key "asnn"\n');
  const j = await bgpctl([...S, 'reload', '--json']);
  t.equal(j.code, 1);
  t.same(JSON.parse(j.stdout), { error: 'configuration has errors; still running the previous configuration', details: ['/etc/bgpd/bgpd.conf:4:3: unknown key "asnn"'] });
  b.reloadResult = { ok: true, changes: ['peer 10.160.105.9 added', 'peer 10.160.105.8 hold time 240 -> 90 (session reset)'] };
  const ok = await bgpctl([...S, 'reload']);
  t.equal(ok.stdout, 'configuration reloaded, 2 changes:\n  - peer 10.160.105.9 added\n  - peer 10.160.105.8 hold time 240 -> 90 (session reset)\n');
});

t.test('command errors exit 1', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['show', 'neighbor', '10.9.9.9'], /no such neighbor: 10\.9\.9\.9/],
    [['neighbor', '10.9.9.9', 'disable'], /no such neighbor/],
    [['show', 'routes', '10.99.0.0/16'], /network not in table: 10\.99\.0\.0\/16/],
    [['log', 'level', 'loud'], /'loud' is not a log level/],
    [['show'], /incomplete command 'show': expected status, neighbors, neighbor, routes, kernel/],
    [['show', 'nei'], /ambiguous 'nei': could be neighbors, neighbor/],
    [['frobnicate'], /unexpected 'frobnicate'/],
    [['neighbor', 'x', 'reset'], /'x' is not an IP address/],
    [['--bogus'], /unknown option '--bogus'/],
    [[], /no command given/],
  ];
  for (const [argv, re] of cases) {
    const r = await bgpctl([...S, ...argv]);
    t.equal(r.code, 1, `${argv.join(' ')}: exit 1`);
    t.match(r.stderr, re, argv.join(' '));
  }
});

t.test('daemon unreachable: exit 2 with a clear message', async (t) => {
  const r = await bgpctl(['-s', '/run/bgpd-nonexistent/bgpd.sock', 'show', 'status']);
  t.equal(r.code, 2);
  t.equal(r.stderr, 'bgpctl: cannot reach bgpd at /run/bgpd-nonexistent/bgpd.sock: connect ENOENT — is bgpd running?\n');
  const j = await bgpctl(['-s', '/run/bgpd-nonexistent/bgpd.sock', 'show', 'status', '--json']);
  t.equal(j.code, 2);
  t.match(JSON.parse(j.stdout), { unreachable: true });
  const def = await bgpctl(['show', 'status']);
  t.equal(def.code, 2, 'default socket path');
  t.match(def.stderr, /^bgpctl: cannot reach bgpd at \/run\/bgpd\/bgpd\.sock: connect (ENOENT|ECONNREFUSED|EACCES) — /);
});

t.test('abbreviations and the grammar table', async (t) => {
  const r = await bgpctl([...S, 'sh', 'neighbors']);
  t.equal(r.code, 0);
  t.same(parseCommand(['sh', 'st']), { ok: true, action: 'show-status', request: { command: 'show status' } });
  t.same(parseCommand(['neighbor', '10.0.0.1', 'dis']), { ok: true, action: 'neighbor-action', request: { command: 'neighbor', args: { address: '10.0.0.1', action: 'disable' } } });
});

t.test('--help documents every command of the grammar', async (t) => {
  const r = await bgpctl(['--help']);
  t.equal(r.code, 0);
  t.equal(r.stdout, HELP_TEXT);
  for (const c of HELP_COMMANDS) {
    // optional arguments are written [ARG] in the help
    const optional = c.replace(/ ([A-Z]+)$/, ' [$1]');
    t.ok(HELP_TEXT.includes(`  ${c} `) || HELP_TEXT.includes(`  ${optional} `), `help mentions ${c}`);
  }
  t.same(HELP_COMMANDS, [
    'show status',
    'show neighbors',
    'show neighbor ADDRESS',
    'show routes',
    'show routes PREFIX',
    'show kernel',
    'reload',
    'neighbor ADDRESS disable',
    'neighbor ADDRESS enable',
    'neighbor ADDRESS reset',
    'neighbor ADDRESS refresh',
    'neighbor ADDRESS refresh in',
    'neighbor ADDRESS refresh out',
    'log level LEVEL',
  ]);
});

t.test('state-changing commands reached the backend', async (t) => {
  t.same(b.rec.actions, [{ name: 'Mesh_10_160_105_8', action: 'reset' }, { name: 'Mesh_10_160_105_8', action: 'reset' }]);
  t.same(b.rec.levels, ['debug', 'debug']);
});

t.test('neighbor ADDRESS refresh [in|out]: ROUTE-REFRESH without a reset, precise refusals', async (t) => {
  const rb = seedDaemon();
  const noRefresh = neighbor('10.160.105.9', { sinceMs: at('06:21:45') });
  rb.neighborList = [
    ...rb.neighborList,
    { ...noRefresh, capabilities: { ...noRefresh.capabilities, negotiated: noRefresh.capabilities.negotiated.filter((c) => !/refresh/.test(c)) } },
    neighbor('10.160.105.10', { state: 'Active', lastError: 'Socket: Connection refused', sinceMs: at('06:30:00') }),
  ];
  const p = tempSocket('bgpd.sock');
  const srv = await JsonSocketServer.listen({ path: p, backend: rb });
  t.teardown(() => srv.close());
  const R = ['-s', p];

  t.same(parseCommand(['neighbor', '10.0.0.1', 'refresh']), {
    ok: true,
    action: 'neighbor-action',
    request: { command: 'neighbor', args: { address: '10.0.0.1', action: 'refresh', direction: 'in' } },
  }, 'refresh alone means in');
  t.same(parseCommand(['neighbor', '10.0.0.1', 'ref', 'o']), {
    ok: true,
    action: 'neighbor-action',
    request: { command: 'neighbor', args: { address: '10.0.0.1', action: 'refresh', direction: 'out' } },
  }, 'abbreviated: ref o');
  t.match(parseCommand(['neighbor', '10.0.0.1', 're']), { ok: false, error: /ambiguous 're': could be reset, refresh/ });
  t.match(parseCommand(['neighbor', '10.0.0.1', 'refresh', 'sideways']), { ok: false, error: /unexpected 'sideways' after 'neighbor 10.0.0.1 refresh': expected <end of command>, in, out/ });

  const rin = await bgpctl([...R, 'neighbor', '10.160.105.7', 'refresh']);
  t.equal(rin.code, 0, 'refresh: exit 0');
  t.equal(rin.stdout, 'neighbor 10.160.105.7 (Mesh_10_160_105_7): ROUTE-REFRESH sent (ipv4-unicast); the peer resends its routes\n');
  const rout = await bgpctl([...R, 'neighbor', '10.160.105.7', 'refresh', 'out', '--json']);
  t.equal(rout.code, 0, 'refresh out: exit 0');
  t.same(JSON.parse(rout.stdout), {
    name: 'Mesh_10_160_105_7',
    address: '10.160.105.7',
    action: 'refresh',
    direction: 'out',
    message: 're-sending the Adj-RIB-Out: 1 route (ipv4-unicast)',
  });

  const down = await bgpctl([...R, 'neighbor', '10.160.105.10', 'refresh', 'in']);
  t.equal(down.code, 1, 'not Established: exit 1');
  t.equal(down.stderr, 'bgpctl: Mesh_10_160_105_10: session is Active, not Established; route refresh needs an established session\n');
  const plain = await bgpctl([...R, 'neighbor', '10.160.105.9', 'refresh', 'out']);
  t.equal(plain.code, 1, 'no Route Refresh negotiated: exit 1');
  t.match(plain.stderr, /^bgpctl: Mesh_10_160_105_9: the peer did not negotiate Route Refresh \(RFC 2918\); 'bgpctl neighbor 10\.160\.105\.9 reset'/);
  const gone = await bgpctl([...R, 'neighbor', '10.9.9.9', 'refresh']);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /no such neighbor: 10\.9\.9\.9/);
  t.same(
    rb.rec.actions,
    [
      { name: 'Mesh_10_160_105_7', action: 'refresh in' },
      { name: 'Mesh_10_160_105_7', action: 'refresh out' },
      { name: 'Mesh_10_160_105_10', action: 'refresh in' },
      { name: 'Mesh_10_160_105_9', action: 'refresh out' },
    ],
    'the backend saw each refresh with its direction',
  );
});

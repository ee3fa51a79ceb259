/**
 * Restart, persist, convergence and repair, in a namespace: a restart with unchanged intent makes
 * no route event at all; stale routes go only after converged(); a route deleted by hand and
 * routes flushed by `ip link set tunl0 down; up` come back within 2 seconds.
 */
import t from 'tap';
import { birdRoutes, ip, makeNode, monitorRoutes, sleep, spawnAgent } from './netns.js';
import type { WireChange } from './agent.js';

const SEED: WireChange[] = [
  { prefix: '172.18.64.0/26', route: { kind: 'blackhole' } },
  { prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.8', device: 'tunl0', onlink: true }] } },
  { prefix: '172.18.101.64/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.7', device: 'tunl0', onlink: true }] } },
];
const SEED_LINES = [
  'blackhole 172.18.64.0/26 proto bird',
  '172.18.96.128/26 via 10.160.105.8 dev tunl0 proto bird onlink',
  '172.18.101.64/26 via 10.160.105.7 dev tunl0 proto bird onlink',
];

async function pollUntil(check: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) return -1;
    await sleep(20);
  }
  return Date.now() - t0;
}

t.test('restart with unchanged routes: persist, adopt, zero route events', async (t) => {
  const ns = makeNode(t);
  const first = spawnAgent(t, ns);
  await first.start({ persist: true }, SEED);
  await first.stop();
  t.same(birdRoutes(ns), SEED_LINES, 'persist: routes stay after stop');

  const mon = monitorRoutes(t, ns);
  await mon.ready;
  const second = spawnAgent(t, ns);
  // Intent arrives partly before and partly after start, as it would from GR peers.
  const r = await second.start({ persist: true, scanIntervalMs: 200 }, SEED.slice(0, 2));
  t.match(r['status'], { installed: 3, unclaimed: 1, writes: 0 });
  await second.set(SEED.slice(2));
  await second.call({ cmd: 'converged' });
  await sleep(500); // a couple of periodic scans
  const st = await second.call({ cmd: 'status' });
  t.match(st['status'], { desired: 3, installed: 3, writes: 0, repairs: 0 });
  t.ok((st['status'] as { scans: number }).scans >= 1, 'periodic scan ran');
  t.match(second.events.find((e) => e.type === 'adopted'), { adopted: 2, unclaimed: 1 });
  await second.stop();
  await mon.stop();
  t.same(mon.lines(), [], 'ip monitor route saw nothing');
  t.same(birdRoutes(ns), SEED_LINES);
});

t.test('stale routes of ours are removed only after converged()', async (t) => {
  const ns = makeNode(t);
  ip('-n', ns, 'route', 'add', '172.18.200.0/26', 'via', '10.160.105.9', 'dev', 'tunl0', 'onlink', 'proto', 'bird');
  ip('-n', ns, 'route', 'add', '172.18.201.0/26', 'via', '10.160.105.9', 'proto', 'bird', 'metric', '50');
  const agent = spawnAgent(t, ns);
  await agent.start({}, SEED);
  t.same(birdRoutes(ns), [...SEED_LINES, '172.18.200.0/26 via 10.160.105.9 dev tunl0 proto bird onlink', '172.18.201.0/26 via 10.160.105.9 dev eth0 proto bird metric 50']);
  await agent.call({ cmd: 'converged' });
  t.same(birdRoutes(ns), SEED_LINES, 'stale and non-default-metric routes of ours removed');
  await agent.stop();
});

t.test('non-persist stop removes exactly our routes', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({ persist: false }, SEED);
  t.same(birdRoutes(ns), SEED_LINES);
  await agent.stop();
  t.same(birdRoutes(ns), []);
  t.same(ip('-n', ns, 'route').trim(), '10.160.105.0/24 dev eth0 proto kernel scope link src 10.160.105.6');
});

t.test('repair: a route deleted by hand, a route changed by hand, tunl0 down/up', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({ scanIntervalMs: 60_000 }, SEED);
  t.same(birdRoutes(ns), SEED_LINES);

  ip('-n', ns, 'route', 'del', '172.18.96.128/26');
  let ms = await pollUntil(() => birdRoutes(ns).length === 3, 2000);
  t.ok(ms >= 0, `deleted route repaired in ${ms} ms`);
  t.same(birdRoutes(ns), SEED_LINES);

  ip('-n', ns, 'route', 'replace', '172.18.101.64/26', 'via', '10.160.105.9', 'dev', 'eth0', 'proto', 'bird');
  ms = await pollUntil(() => birdRoutes(ns).join('\n') === SEED_LINES.join('\n'), 2000);
  t.ok(ms >= 0, `changed route repaired in ${ms} ms`);

  ip('-n', ns, 'link', 'set', 'tunl0', 'down');
  await sleep(100);
  t.same(birdRoutes(ns), ['blackhole 172.18.64.0/26 proto bird'], 'kernel flushed the tunnel routes');
  ip('-n', ns, 'link', 'set', 'tunl0', 'up');
  ms = await pollUntil(() => birdRoutes(ns).length === 3, 2000);
  t.ok(ms >= 0, `routes via tunl0 restored ${ms} ms after link up`);
  t.same(birdRoutes(ns), SEED_LINES);
  // The agent reports its events over a pipe; on a loaded machine the last one can trail the
  // kernel state we just read.
  for (const reason of ['deleted', 'changed', 'scan']) {
    const seen = await pollUntil(() => agent.events.some((e) => e.type === 'repair' && e['reason'] === reason), 3000);
    t.ok(seen >= 0, `a repair event with reason '${reason}'`);
  }
  await agent.stop();
});

t.test('periodic scan catches a change no notification reported', async (t) => {
  // Removing eth0's address flushes the routes through it without RTM_DELROUTE and without a
  // link state change: only the periodic scan can notice.
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({ scanIntervalMs: 300 }, [
    { prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.8', device: 'eth0', onlink: true }] } },
  ]);
  ip('-n', ns, 'addr', 'flush', 'dev', 'eth0');
  const ms = await pollUntil(() => birdRoutes(ns).length === 1 && agent.events.some((e) => e.type === 'repair' && e['reason'] === 'scan'), 2000);
  t.ok(ms >= 0, 'repaired by the periodic scan');
  t.same(birdRoutes(ns), ['172.18.96.128/26 via 10.160.105.8 dev eth0 proto bird onlink']);
  await agent.stop();
});

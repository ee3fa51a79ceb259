/**
 * Route shapes wren writes, checked against `ip route` text exactly: CrossSubnet direct, ECMP
 * (tunnelled and direct), IPv6 single and ECMP, a next hop the kernel resolves, replace without a
 * flap, other protocols' routes untouched, and a failing write retried and reported.
 */
import t from 'tap';
import { birdRoutes, ip, makeNode, monitorRoutes, routes, sleep, spawnAgent } from './netns.js';
import type { WireChange } from './agent.js';

const tunnel = (gw: string) => ({ gateway: gw, device: 'tunl0', onlink: true });
const direct = (gw: string) => ({ gateway: gw, device: 'eth0', onlink: false });

t.test('CrossSubnet direct, kernel-resolved, ECMP tunnelled and direct', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  const desired: WireChange[] = [
    { prefix: '172.18.101.64/26', route: { kind: 'unicast', nextHops: [direct('10.160.105.7')] } },
    { prefix: '172.18.1.0/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.9' }] } },
    { prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [tunnel('10.160.105.7'), tunnel('10.160.105.8')] } },
    { prefix: '172.18.97.0/26', route: { kind: 'unicast', nextHops: [direct('10.160.105.7'), direct('10.160.105.8')] } },
  ];
  await agent.start({}, desired);
  t.same(routes(ns, '-4'), [
    '10.160.105.0/24 dev eth0 proto kernel scope link src 10.160.105.6',
    '172.18.1.0/26 via 10.160.105.9 dev eth0 proto bird',
    '172.18.96.128/26 proto bird',
    '\tnexthop via 10.160.105.7 dev tunl0 weight 1 onlink',
    '\tnexthop via 10.160.105.8 dev tunl0 weight 1 onlink',
    '172.18.97.0/26 proto bird',
    '\tnexthop via 10.160.105.7 dev eth0 weight 1',
    '\tnexthop via 10.160.105.8 dev eth0 weight 1',
    '172.18.101.64/26 via 10.160.105.7 dev eth0 proto bird',
  ]);
  // The kernel-resolved route reads back with dev eth0 and still counts as equal to intent.
  const st = await agent.call({ cmd: 'status' });
  t.match(st['status'], { desired: 4, installed: 4, pending: 0, failed: 0 });
  await agent.stop();
});

t.test('IPv6 single next hop and ECMP', async (t) => {
  const ns = makeNode(t, { v6: true });
  const agent = spawnAgent(t, ns);
  await agent.start({}, [
    { prefix: 'fd00:100::/64', route: { kind: 'unicast', nextHops: [direct('fd00::7')] } },
    { prefix: 'fd00:200::/64', route: { kind: 'unicast', nextHops: [direct('fd00::7'), direct('fd00::8')] } },
    { prefix: 'fd00:300::/122', route: { kind: 'blackhole' } },
  ]);
  t.same(birdRoutes(ns, '-6'), [
    'fd00:100::/64 via fd00::7 dev eth0 proto bird metric 1024 pref medium',
    'fd00:200::/64 proto bird metric 1024 pref medium',
    'blackhole fd00:300::/122 dev lo proto bird metric 1024 pref medium',
  ]);
  t.same(
    routes(ns, '-6').filter((l) => l.startsWith('\tnexthop')),
    ['\tnexthop via fd00::7 dev eth0 weight 1', '\tnexthop via fd00::8 dev eth0 weight 1'],
  );
  const st = await agent.call({ cmd: 'status' });
  t.match(st['status'], { desired: 3, installed: 3, pending: 0, failed: 0 });
  await agent.stop();
});

t.test('replace is atomic: one NEWROUTE, no deletion', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({}, [{ prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [tunnel('10.160.105.8')] } }]);
  const mon = monitorRoutes(t, ns);
  await mon.ready;
  await agent.set([{ prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [tunnel('10.160.105.7')] } }]);
  await sleep(300);
  await mon.stop();
  t.same(mon.lines(), ['172.18.96.128/26 via 10.160.105.7 dev tunl0 proto bird onlink'], 'monitor saw exactly the new route, no Deleted line');
  t.same(birdRoutes(ns), ['172.18.96.128/26 via 10.160.105.7 dev tunl0 proto bird onlink']);
  await agent.stop();
});

t.test('routes of other protocols are never touched', async (t) => {
  const ns = makeNode(t);
  ip('-n', ns, 'route', 'add', '10.99.0.0/24', 'via', '10.160.105.1', 'proto', 'static');
  ip('-n', ns, 'route', 'add', 'blackhole', '10.98.0.0/24', 'proto', 'boot');
  // Same prefix as one wren wants, but someone else's: reported, not overwritten.
  ip('-n', ns, 'route', 'add', '172.18.5.0/26', 'via', '10.160.105.1', 'proto', 'static');
  const before = routes(ns, '-4').filter((l) => !l.includes('proto bird'));
  const agent = spawnAgent(t, ns);
  await agent.start({ persist: false }, [
    { prefix: '172.18.5.0/26', route: { kind: 'blackhole' } },
    { prefix: '172.18.6.0/26', route: { kind: 'blackhole' } },
  ]);
  const failed = await agent.waitEvent((e) => e.type === 'write-failed' && e['prefix'] === '172.18.5.0/26', 2000);
  t.match(failed['error'], /^EEXIST/);
  await agent.call({ cmd: 'converged' });
  t.same(birdRoutes(ns), ['blackhole 172.18.6.0/26 proto bird']);
  await agent.set([{ prefix: '172.18.6.0/26', route: null }, { prefix: '172.18.5.0/26', route: null }]);
  await agent.stop();
  t.same(routes(ns, '-4'), before, 'foreign routes identical after converge, deletes and a non-persist stop');
});

t.test('a failing write is retried with back-off, reported, and recovers', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({ retryInitialMs: 50, retryMaxMs: 400 }, [
    { prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.8', device: 'tunl9', onlink: true }] } },
    { prefix: '172.18.64.0/26', route: { kind: 'blackhole' } },
  ]);
  await agent.waitEvent((e) => e.type === 'write-failed' && e['attempts'] === 3, 3000);
  const fails = agent.events.filter((e) => e.type === 'write-failed');
  t.ok(fails.every((e) => e['prefix'] === '172.18.96.128/26' && /^ENODEV: device tunl9 not found/.test(String(e['error']))));
  t.same(fails.slice(0, 3).map((e) => e['retryInMs']), [50, 100, 200], 'exponential back-off');
  t.ok(agent.logs.some((l) => l['msg'] === 'kernel write failed'), 'logged through the logger');
  const st = await agent.call({ cmd: 'status' });
  const entry = (st['entries'] as Record<string, unknown>[]).find((e) => e['prefix'] === '172.18.96.128/26');
  t.match(entry, { state: 'failed', error: /ENODEV/ });
  t.same(birdRoutes(ns), ['blackhole 172.18.64.0/26 proto bird'], 'the other route is unaffected');
  // The device appears: the link notification triggers an immediate retry.
  ip('-n', ns, 'link', 'add', 'tunl9', 'type', 'veth', 'peer', 'name', 'tunl9p');
  ip('-n', ns, 'link', 'set', 'tunl9p', 'up');
  ip('-n', ns, 'link', 'set', 'tunl9', 'up');
  await agent.waitEvent((e) => e.type === 'write-recovered', 3000);
  t.same(birdRoutes(ns), ['blackhole 172.18.64.0/26 proto bird', '172.18.96.128/26 via 10.160.105.8 dev tunl9 proto bird onlink']);
  await agent.stop();
});

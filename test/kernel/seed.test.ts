/**
 * The seed cluster's node (10.160.105.6): wren must produce exactly BIRD's three `proto bird`
 * lines, next to the kernel's own connected route.
 */
import t from 'tap';
import { makeNode, routes, spawnAgent } from './netns.js';
import type { WireChange } from './agent.js';

const SEED: WireChange[] = [
  { prefix: '172.18.64.0/26', route: { kind: 'blackhole' } },
  { prefix: '172.18.96.128/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.8', device: 'tunl0', onlink: true }] } },
  { prefix: '172.18.101.64/26', route: { kind: 'unicast', nextHops: [{ gateway: '10.160.105.7', device: 'tunl0', onlink: true }] } },
];

t.test('seed cluster routes print exactly like BIRD', async (t) => {
  const ns = makeNode(t);
  const agent = spawnAgent(t, ns);
  await agent.start({}, SEED);
  t.same(routes(ns, '-4'), [
    '10.160.105.0/24 dev eth0 proto kernel scope link src 10.160.105.6',
    'blackhole 172.18.64.0/26 proto bird',
    '172.18.96.128/26 via 10.160.105.8 dev tunl0 proto bird onlink',
    '172.18.101.64/26 via 10.160.105.7 dev tunl0 proto bird onlink',
  ]);
  const st = await agent.call({ cmd: 'status' });
  t.match(st['status'], { desired: 3, installed: 3, pending: 0, failed: 0 });
  await agent.stop();
});

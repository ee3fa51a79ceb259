// wren next to BIRD 2 on one veth: the session comes up both ways, routes cross both ways.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, WrenSpeaker } from '../lab/lib/index.js';

if (await requireLab(t, ['bird2'])) {
  t.test('wren <-> BIRD 2, IPv4 iBGP, routes both ways', async (t) => {
    const lab = await labFor(t);
    const a = await lab.addHost('wren');
    const b = await lab.addHost('bird');
    await lab.link(a, b, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
    const wren = new WrenSpeaker(a, {
      routerId: '10.0.0.1',
      localAs: 65000,
      listenAddress: '10.0.0.1',
      neighbors: [{ address: '10.0.0.2', remoteAs: 65000 }],
      originate: ['172.18.64.0/26'],
    });
    const bird = new Bird2Speaker(b, {
      routerId: '10.0.0.2',
      localAs: 65000,
      listenAddress: '10.0.0.2',
      neighbors: [{ address: '10.0.0.1', remoteAs: 65000 }],
      originate: ['10.9.0.0/24'],
    });
    await Promise.all([wren.start(), bird.start()]);
    await wren.waitForState('10.0.0.2');
    await bird.waitForState('10.0.0.1');
    const [fromWren] = await bird.waitForRoute('172.18.64.0/26');
    t.equal(fromWren?.nextHop, '10.0.0.1', 'BIRD learned the block with next hop wren');
    const [fromBird] = await wren.waitForRoute('10.9.0.0/24');
    t.equal(fromBird?.nextHop, '10.0.0.2', 'wren learned BIRD route');
    t.equal(fromBird?.fromPeer, '10.0.0.2');
  });
}

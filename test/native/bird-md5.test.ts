// TCP MD5 against BIRD 2 (`password "secret"`), in lab namespaces: BIRD on host a (10.0.0.1),
// Node on host b (10.0.0.2). With the right key the handshake completes in both directions (Node
// listening, Node connecting) and BIRD's OPEN arrives over the signed connection; with a wrong
// key the handshake never completes.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bird2Speaker, labFor, requireLab } from '../lab/lib/index.js';
import type { Host } from '../lab/lib/index.js';
import { tsChildArgv } from './helpers.js';

const AS = 65000 as const;
const PASSWORD = 'secret' as const;
const NO_HANDSHAKE_MS = 6000 as const;

async function setup(t: Parameters<typeof labFor>[0], passive: boolean): Promise<{ b: Host; bird: Bird2Speaker }> {
  const lab = await labFor(t);
  const a = await lab.addHost('a');
  const b = await lab.addHost('b');
  await lab.link(a, b, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
  const bird = new Bird2Speaker(a, {
    routerId: '10.0.0.1',
    localAs: AS,
    neighbors: [{ address: '10.0.0.2', remoteAs: AS, password: PASSWORD, passive, connectRetry: 1 }],
  });
  await bird.start();
  return { b, bird };
}

function peer(b: Host, mode: 'listen' | 'connect', key: string) {
  const [cmd, ...args] = tsChildArgv('md5-peer.ts');
  return b.spawn(cmd!, [...args, mode, '10.0.0.2', '10.0.0.1', key], { name: `md5-${mode}-${key}`, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
}

if (await requireLab(t, ['bird2'])) {
  t.test('Node listens with the key, BIRD connects: handshake and OPEN', async (t) => {
    const { b } = await setup(t, false);
    const p = peer(b, 'listen', PASSWORD);
    await p.waitForOutput(/"listening":true/, 30_000);
    await p.waitForOutput(/"accepted":"10\.0\.0\.1"/, 20_000);
    await p.waitForOutput(/"open":true/, 20_000);
    t.pass('BIRD connected over TCP MD5 and sent its OPEN');
  });

  t.test('Node listens with a wrong key: BIRD never gets through', async (t) => {
    const { b } = await setup(t, false);
    const p = peer(b, 'listen', 'wrong');
    await p.waitForOutput(/"listening":true/, 30_000);
    await sleep(NO_HANDSHAKE_MS);
    t.notMatch(p.stdout(), /accepted/, `no connection in ${NO_HANDSHAKE_MS} ms of BIRD retrying every second`);
  });

  t.test('Node connects with the key (set before the SYN) to a passive BIRD', async (t) => {
    const { b } = await setup(t, true);
    const p = peer(b, 'connect', PASSWORD);
    await p.waitForOutput(/"connected":"10\.0\.0\.1"/, 30_000);
    await p.waitForOutput(/"open":true/, 20_000);
    t.pass('connected and received BIRD\'s OPEN');
  });

  t.test('Node connects with a wrong key: no handshake', async (t) => {
    const { b } = await setup(t, true);
    const p = peer(b, 'connect', 'wrong');
    await sleep(NO_HANDSHAKE_MS);
    t.ok(p.running, 'the peer is alive and still waiting');
    t.notMatch(p.stdout(), /connected|connectError/, 'SYN-ACK never came back');
  });
}

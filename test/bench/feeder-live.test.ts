// The benchmark harness, live: the feeder (bench/feeder.ts CLI in its own namespace) sends 10k
// prefixes over a real eBGP session to wren, which must hold them all; then withdraws them all.
import t from 'tap';
import { join } from 'node:path';
import { labFor, requireLab, WrenSpeaker, waitFor } from '../lab/lib/index.js';
import { FeederClient } from '../../bench/lib/feeder-client.js';

const N = 10_000;

if (await requireLab(t)) {
  t.test('feeder -> wren: 10k prefixes held, then withdrawn', async (t) => {
    const lab = await labFor(t);
    const rcv = await lab.addHost('rcv');
    const feed = await lab.addHost('feed');
    await lab.link(rcv, feed, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
    const wren = new WrenSpeaker(rcv, { routerId: '10.0.0.1', localAs: 65000, neighbors: [{ address: '10.0.0.2', remoteAs: 65001, passive: true, holdTime: 30 }] }, { logLevel: 'info' });
    await wren.start();
    const feeder = new FeederClient(
      feed.ns,
      ['--remote', '10.0.0.1', '--sources', '10.0.0.2', '--local-as', '65001', '--remote-as', '65000', '--prefixes', String(N), '--attr-sets', '1000', '--hold', '30'],
      join(lab.dir, 'feeder.log'),
    );
    t.teardown(() => feeder.close());
    const prep = await feeder.next('prepared', 60_000);
    t.ok(Number(prep['messages']) > 0, `pre-encoded ${String(prep['messages'])} UPDATEs`);
    await feeder.call('connect', 'connected', 30_000);
    await wren.waitForState('10.0.0.2');
    const imported = async (): Promise<number> => (await wren.neighbors()).find((n) => n.address === '10.0.0.2')?.routes.imported ?? -1;
    const ann = await feeder.call('announce', 'announced', 60_000);
    t.ok(Number(ann['ms']) >= 0);
    await waitFor(async () => ((await imported()) === N ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `wren holds ${N} routes` });
    t.equal(await imported(), N, 'wren holds every prefix');
    const st = (await wren.ctl<{ routesV4: number; eventLoop?: { maxMs: number } }>(['show', 'status']));
    t.equal(st.routesV4, N, 'all of them best');
    t.ok(st.eventLoop !== undefined && st.eventLoop.maxMs >= 0, 'show status reports event-loop delay');
    await feeder.call('withdraw', 'withdrawn', 60_000);
    await waitFor(async () => ((await imported()) === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: 'wren holds nothing' });
    const status = await feeder.call('status', 'status', 10_000);
    t.equal(status['drops'], 0, 'no session lost');
    t.equal(status['up'], 1);
  });
}

// A block added or removed by a config reload reaches every other node's kernel within one second,
// and no session resets for it (a policy-only change, ARCHITECTURE.md reload rules).
import t from 'tap';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes } from '../lab/cluster.js';
import { waitFor } from '../lab/lib/wait.js';

const NEW_BLOCK = '172.18.70.192/26';

if (await requireLab(t, ['bird2'])) {
  t.test('a block added or removed by reload reaches every other node within 1 s', async (t) => {
    const c = await buildCluster({ nodes: 3 });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const [n6, ...others] = c.nodes as [typeof c.nodes[0], ...typeof c.nodes];
    const sinceBefore = new Map((await n6!.wren!.neighbors()).map((x) => [x.address, x.sinceMs]));

    const line = `${NEW_BLOCK} via ${n6!.address} dev tunl0 proto bird onlink`;
    const t0 = Date.now();
    await n6!.wren!.announce(NEW_BLOCK);
    for (const n of others) {
      await waitFor(async () => (await birdRoutes(n)).includes(line) || undefined, { timeoutMs: 5000, intervalMs: 20, what: `${line} on ${n.address}` });
    }
    const addMs = Date.now() - t0;
    t.ok(addMs <= 1000, `added block in every other kernel after ${addMs} ms (<= 1000)`);
    t.ok((await birdRoutes(n6!)).includes(`blackhole ${NEW_BLOCK} proto bird`), 'blackholed locally');

    const t1 = Date.now();
    await n6!.wren!.withdraw(NEW_BLOCK);
    for (const n of others) {
      await waitFor(async () => !(await birdRoutes(n)).includes(line) || undefined, { timeoutMs: 5000, intervalMs: 20, what: `${line} gone on ${n.address}` });
    }
    const delMs = Date.now() - t1;
    t.ok(delMs <= 1000, `removed block gone from every other kernel after ${delMs} ms (<= 1000)`);
    t.notOk((await birdRoutes(n6!)).some((l) => l.includes(NEW_BLOCK)), 'and from the local blackholes');

    const after = await n6!.wren!.neighbors();
    for (const x of after) t.equal(x.sinceMs, sinceBefore.get(x.address), `session with ${x.address} did not reset`);
  });
}

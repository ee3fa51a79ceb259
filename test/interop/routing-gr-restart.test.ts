// RFC 4724 helper: a GR-capable BIRD 2 (restart time 25 s) is killed with SIGKILL and started again
// (`bird -R`, as calico-node runs it) a few seconds later. Polled back to back through the whole
// outage, wren's RIB never loses the route (it is marked stale while BIRD is away), the kernel
// route in wren's namespace stays, and wren never withdraws it from its other peer (GoBGP). After
// BIRD's End-of-RIB the route is fresh again.
import t from 'tap';
import { labFor, requireLab, waitFor } from '../lab/lib/index.js';
import { pollRoute, sleep, wireUpdates } from './routing-lib.js';
import { BIRD, GOBGP, GR_NET, WREN, deletions, grTopology, monitorRoutes, restartBird, waitKernel } from './routing-gr-lib.js';

const RESTART_TIME = 25;

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('GR helper: a peer killed and back within its restart time loses no route', async (t) => {
    const lab = await labFor(t);
    const { wren, bird, go, hw, hb, cap } = await grTopology(lab, RESTART_TIME);
    await wren.waitForState(BIRD);
    const [r] = await wren.waitForRoute(GR_NET);
    t.ok(r?.best, 'wren: BIRD route best before the restart');
    const k0 = await waitKernel(hw, GR_NET);
    t.match(k0, /via 10\.0\.0\.2 dev eth0 proto bird/, `kernel before: ${k0}`);
    await go.waitForRoute(GR_NET);
    const nb = (await wren.neighbors()).find((n) => n.address === BIRD);
    t.equal(nb?.gracefulRestart.negotiated, true, 'wren: graceful restart negotiated with BIRD');
    t.equal(nb?.gracefulRestart.restartTimeSec, RESTART_TIME, `wren: BIRD's restart time ${RESTART_TIME} s`);

    const mon = await monitorRoutes(hw);
    const poll = pollRoute(wren, hw, GR_NET);
    await sleep(500);
    const killedAt = Date.now();
    await bird.kill();
    await waitFor(async () => (await wren.peerState(BIRD)).state !== 'Established', { timeoutMs: 10_000, intervalMs: 100, what: 'session down' });
    const down = (await wren.neighbors()).find((n) => n.address === BIRD);
    t.not(down?.state, 'Established', 'wren: session with BIRD went down');
    t.equal(down?.gracefulRestart.state, 'helper-stale', 'wren: neighbour in helper state (routes kept stale)');
    await sleep(3000);
    const proc = restartBird(hb, bird);
    await wren.waitForState(BIRD, 'Established', 20_000);
    const upAt = Date.now();
    t.ok(upAt - killedAt < RESTART_TIME * 1000, `BIRD back in ${upAt - killedAt} ms, within its restart time`);
    // End-of-RIB from BIRD clears the stale mark.
    await waitFor(
      async () => {
        const [p] = (await wren.ctl<{ routes: { prefix: string; stale: boolean }[] }>(['show', 'routes', GR_NET])).routes;
        return p !== undefined && !p.stale;
      },
      { timeoutMs: 20_000, what: 'route fresh again' },
    );
    await sleep(2000);
    const samples = await poll.stop();
    t.ok(proc.running, 'restarted BIRD still running');

    t.ok(samples.length >= 10, `${samples.length} samples through the outage`);
    const missing = samples.filter((s) => !s.present || !s.best);
    t.equal(missing.length, 0, 'wren: route present and best in every sample');
    const noKernel = samples.filter((s) => s.kernel === '');
    t.equal(noKernel.length, 0, 'kernel: route present in every sample');
    t.ok(samples.every((s) => /via 10\.0\.0\.2 dev eth0 proto bird/.test(s.kernel)), 'kernel: the same next hop throughout');
    const stale = samples.filter((s) => s.stale);
    t.ok(stale.length > 0, `wren: route marked stale while BIRD was away (${stale.length} samples)`);
    t.ok(stale.every((s) => s.atMs >= killedAt), 'wren: stale only after the kill');
    t.equal(samples.at(-1)?.stale, false, 'wren: fresh at the end');
    t.same(deletions(mon, GR_NET), [], 'ip monitor: the kernel route was never deleted, not even briefly');
    const after = (await wren.neighbors()).find((n) => n.address === BIRD);
    t.equal(after?.gracefulRestart.state, 'none', 'wren: helper state over after End-of-RIB');

    await cap.stop();
    const ups = await wireUpdates(cap);
    t.equal(ups.filter((u) => u.src === WREN && u.dst === GOBGP && u.withdrawn.includes(GR_NET)).length, 0, 'wire: wren never withdrew the route from GoBGP');
    const [atGo] = await go.routes(GR_NET);
    t.ok(atGo !== undefined, 'GoBGP: still has the route');
  });
}

// RFC 4724 helper, the other outcome: a GR-capable BIRD 2 (restart time 15 s) is killed with
// SIGKILL and stays away. wren keeps its route, stale, in the RIB and the kernel for the restart
// time, then flushes it: gone from the RIB, deleted from the kernel, withdrawn from GoBGP.
import t from 'tap';
import { labFor, requireLab } from '../lab/lib/index.js';
import { kernelRoute, pollRoute, sleep, wireUpdates } from './routing-lib.js';
import { BIRD, GOBGP, GR_NET, WREN, deletions, grTopology, monitorRoutes, waitKernel } from './routing-gr-lib.js';

const RESTART_TIME = 15;

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('GR helper: a peer that stays away past its restart time is flushed', async (t) => {
    const lab = await labFor(t);
    const { wren, bird, go, hw, cap } = await grTopology(lab, RESTART_TIME);
    await wren.waitForState(BIRD);
    await wren.waitForRoute(GR_NET);
    t.match(await waitKernel(hw, GR_NET), /via 10\.0\.0\.2 dev eth0 proto bird/, 'kernel: route installed');
    await go.waitForRoute(GR_NET);

    const mon = await monitorRoutes(hw);
    const poll = pollRoute(wren, hw, GR_NET);
    await sleep(500);
    const killedAt = Date.now();
    await bird.kill();
    // Wait until the route is gone (or long past the restart time).
    const limit = killedAt + (RESTART_TIME + 10) * 1000;
    let goneAt = 0;
    while (Date.now() < limit) {
      await sleep(500);
      if ((await kernelRoute(hw, GR_NET)) === '') {
        goneAt = Date.now();
        break;
      }
    }
    await sleep(1500);
    const samples = await poll.stop();
    const elapsed = goneAt - killedAt;
    t.ok(goneAt > 0, `kernel route removed ${elapsed} ms after the kill`);
    t.ok(elapsed >= (RESTART_TIME - 1) * 1000, `... not before the restart time (${RESTART_TIME} s)`);
    t.ok(elapsed <= (RESTART_TIME + 5) * 1000, '... and soon after it');

    const during = samples.filter((s) => s.atMs > killedAt + 2000 && s.atMs < killedAt + (RESTART_TIME - 2) * 1000);
    t.ok(during.length >= 5, `${during.length} samples inside the restart time`);
    t.ok(during.every((s) => s.present && s.best && s.stale), 'wren: route kept, best and stale inside the restart time');
    t.ok(during.every((s) => s.kernel !== ''), 'kernel: route kept inside the restart time');
    const firstGone = samples.find((s) => !s.present);
    t.ok(firstGone !== undefined, 'wren: route left the RIB');
    t.ok(firstGone !== undefined && firstGone.atMs - killedAt >= (RESTART_TIME - 1) * 1000, 'wren: ... only after the restart time');
    t.ok(samples.at(-1)?.present === false && samples.at(-1)?.kernel === '', 'wren: gone from RIB and kernel at the end');
    t.equal(deletions(mon, GR_NET).length, 1, 'ip monitor: one kernel deletion (the flush)');
    const nb = (await wren.neighbors()).find((n) => n.address === BIRD);
    t.equal(nb?.gracefulRestart.state, 'none', 'wren: helper state over');

    await go.waitForNoRoute(GR_NET);
    t.pass('GoBGP: route withdrawn after the flush');
    await cap.stop();
    const ups = await wireUpdates(cap);
    const wd = ups.filter((u) => u.src === WREN && u.dst === GOBGP && u.withdrawn.includes(GR_NET));
    t.equal(wd.length, 1, 'wire: one withdrawal to GoBGP');
  });
}

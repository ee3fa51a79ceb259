// The manual clock the driver tests run on.
import t from 'tap';
import { ManualClock, realClock } from '../../src/session/clock.js';

t.test('ManualClock runs due timers in deadline order and only when advanced', async (t) => {
  const c = new ManualClock(1000);
  const seen: string[] = [];
  c.setTimeout(() => seen.push('b@30'), 30);
  c.setTimeout(() => seen.push('a@10'), 10);
  const h = c.setTimeout(() => seen.push('cancelled'), 20);
  c.setTimeout(() => {
    seen.push('c@10');
    // A timer armed by a timer still runs within the same advance when due.
    c.setTimeout(() => seen.push('d@15'), 5);
  }, 10);
  c.clearTimeout(h);
  t.equal(c.pending, 3);
  c.advance(9);
  t.same(seen, []);
  c.advance(21);
  t.same(seen, ['a@10', 'c@10', 'd@15', 'b@30']);
  t.equal(c.now(), 1030);
  t.equal(c.pending, 0);
});

t.test('realClock', async (t) => {
  // Its timers are unref'd (they must not keep the daemon alive): hold the loop open ourselves.
  const keep = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keep));
  // Wall-clock epoch at start plus monotonic time: it tracks Date.now() closely while nobody steps
  // the clock (the two timers drift apart by well under a second over a test run).
  const skew = realClock.now() - Date.now();
  t.ok(Math.abs(skew) < 1000, `within a second of Date.now() (${skew} ms)`);
  const a = realClock.now();
  await new Promise((r) => setTimeout(r, 20));
  t.ok(realClock.now() - a >= 19, 'advances with real time');
  await new Promise<void>((resolve) => realClock.setTimeout(resolve, 1));
  const h = realClock.setTimeout(() => t.fail('cleared'), 1);
  realClock.clearTimeout(h);
  await new Promise((r) => setTimeout(r, 5));
});

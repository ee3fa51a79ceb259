// Faults and what wren keeps through them:
// - the config file deleted, or half-written, when a reload comes: the running config stays in
//   force, the reload reports the error, no session moves; a good file then applies;
// - the wall clock stepping back an hour (injected into bgpd: Date.now() shifted; wren's timers run
//   on monotonic time, session/clock.ts): keepalives keep flowing and no hold timer fires, and a
//   step forward fires nothing early;
// - SIGKILL then restart (lab): the kernel routes persist, are adopted, and `ip monitor route`
//   sees no event for them; the BIRD route is back in the RIB.
import t from 'tap';
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageType } from '../../proto/constants.js';
import { labFor, requireLab } from '../lab/lib/index.js';
import { RawBgp } from './lib/raw-bgp.js';
import { LocalWren, ctl, ctlNeighbor, pathsFrom, sleep, until } from './lib/wren-proc.js';
import { BIRD_ADDR, BIRD_PREFIX, buildHardLab, kernelLine } from './lib/topo.js';

const W = '127.0.0.3';

t.test('config file deleted or half-written during a reload', async (t) => {
  const wren = new LocalWren([{ address: W, asn: 65002 }]);
  t.teardown(() => wren.close());
  await wren.start();
  const c = await RawBgp.establish(() => RawBgp.tcp({ host: '127.0.0.1', port: wren.port, localAddress: W }), { asn: 65002, bgpId: W, holdTimeSec: 9 });
  t.teardown(() => c.destroy());
  const since = (await ctlNeighbor(wren.socket, W)).sinceMs;
  const good = readFileSync(wren.configFile, 'utf8');

  rmSync(wren.configFile);
  const r1 = await ctl(wren.socket, 'reload');
  t.equal(r1.ok, false, 'reload with the file deleted fails');
  t.match(JSON.stringify(r1), /ENOENT|cannot read/, `reported: ${JSON.stringify(r1).slice(0, 200)}`);

  writeFileSync(wren.configFile, good.slice(0, Math.floor(good.length / 2)));
  const r2 = await ctl(wren.socket, 'reload');
  t.equal(r2.ok, false, 'reload of a half-written file fails');
  t.ok((r2.error ?? '').length > 0, `reported: ${JSON.stringify(r2).slice(0, 200)}`);

  // A syntactically valid file that drops the peer: must not apply while it is "half" either...
  writeFileSync(wren.configFile, good.replace('"asn": 65000', '"asn": 0'));
  const r3 = await ctl(wren.socket, 'reload');
  t.equal(r3.ok, false, 'invalid values are refused too');

  const n = await ctlNeighbor(wren.socket, W);
  t.equal(n.state, 'Established', 'the session never moved');
  t.equal(n.sinceMs, since, 'same since');
  t.same(c.notifications(), [], 'no NOTIFICATION to the peer');
  t.equal(((await ctl(wren.socket, 'show status')).result as { asn: number }).asn, 65000, 'the running config is still in force');

  writeFileSync(wren.configFile, good.replace('"level": "warn"', '"level": "info"'));
  const r4 = await ctl(wren.socket, 'reload');
  t.equal(r4.ok, true, `the repaired file applies: ${JSON.stringify(r4.result)}`);
  t.equal((await ctlNeighbor(wren.socket, W)).sinceMs, since, 'still the same session');
});

for (const [name, shift] of [
  ['back one hour', -3_600_000],
  ['forward one hour', 3_600_000],
] as const) {
  t.test(`wall clock steps ${name}: timers neither stall nor fire early`, async (t) => {
    const wren = new LocalWren([{ address: W, asn: 65002, extra: { hold: 9, keepalive: 3 } }]);
    // Injected into bgpd: 8 s after start, Date.now() (the wall clock) jumps by `shift`.
    const inject = join(wren.dir, 'clock-step.mjs');
    writeFileSync(inject, `const r = Date.now.bind(Date);\nsetTimeout(() => { Date.now = () => r() + (${shift}); process.stderr.write('CLOCK STEPPED\\n'); }, 8000).unref();\n`);
    const orig = process.env['NODE_OPTIONS'];
    process.env['NODE_OPTIONS'] = `${orig ?? ''} --import=${inject}`;
    t.teardown(() => wren.close());
    try {
      await wren.start();
    } finally {
      if (orig === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = orig;
    }
    const c = await RawBgp.establish(() => RawBgp.tcp({ host: '127.0.0.1', port: wren.port, localAddress: W }), { asn: 65002, bgpId: W, holdTimeSec: 9 });
    t.teardown(() => c.destroy());
    await until(() => (wren.output.includes('CLOCK STEPPED') ? true : undefined), 30_000, 'the injected clock step');
    const mark = c.received.length;
    const since = (await ctlNeighbor(wren.socket, W)).sinceMs;
    await sleep(20_000);
    const kas = c.received.slice(mark).filter((m) => m.type === MessageType.Keepalive);
    t.ok(kas.length >= 4, `wren kept sending KEEPALIVEs every ~3 s after the step (${kas.length} in 20 s)`);
    const gaps = kas.slice(1).map((m, i) => m.at - kas[i]!.at);
    t.ok(gaps.every((g) => g < 6000), `no keepalive gap over 6 s (${gaps.join(' ')})`);
    t.same(c.notifications(), [], 'no NOTIFICATION (no hold timer fired on either side)');
    const n = await ctlNeighbor(wren.socket, W);
    t.equal(n.state, 'Established', 'session up');
    t.equal(n.sinceMs, since, 'never flapped');
  });
}

if (await requireLab(t, ['bird2'])) {
  t.test('SIGKILL and restart: kernel routes persist and are adopted without a flap', async (t) => {
    const lab = await labFor(t);
    const h = await buildHardLab(lab, { extra: { 'graceful-restart': { enabled: true, 'restart-time': 120, wait: 20 } } });
    const before = await kernelLine(h.w, BIRD_PREFIX);
    const monitor = h.w.spawn('ip', ['-4', 'monitor', 'route'], { name: 'monitor' });
    await sleep(500);
    await h.wren.kill();
    await sleep(1000);
    t.equal(await kernelLine(h.w, BIRD_PREFIX), before, 'route still in the kernel while wren is dead');
    await h.wren.start();
    await until(async () => ((await pathsFrom(h.wren.socket, BIRD_PREFIX, BIRD_ADDR)).length > 0 ? true : undefined), 60_000, 'BIRD route back in the RIB');
    t.match(h.wren.logs(), /"restarting":true/, 'wren found its routes in the kernel (restarting speaker)');
    await sleep(3000);
    t.equal(await kernelLine(h.w, BIRD_PREFIX), before, 'same kernel route after the restart');
    const events = readFileSync(monitor.stdoutPath, 'utf8').split('\n').filter((l) => l.includes(BIRD_PREFIX.split('/')[0]!));
    t.same(events, [], 'ip monitor route: no event for the route (no flap)');
  });
}

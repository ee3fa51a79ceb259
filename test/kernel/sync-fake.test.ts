/**
 * KernelSync logic against the in-memory FakeFib (no namespace needed): coalescing, adoption
 * without writes, convergence, EXCL vs REPLACE, retries, repair on notifications.
 */
import t from 'tap';
import { FakeFib, KernelSync } from '../../src/kernel/index.js';
import type { KernelSyncEvent } from '../../src/kernel/index.js';
import { parsePrefix } from '../../proto/prefix.js';
import type { KernelRoute } from '../../rib/kernel-types.js';
import { ERRNO } from '../../src/kernel/constants.js';

const P = (s: string): number => parsePrefix(s)!.prefix as number;
const bh = (s: string): KernelRoute => ({ kind: 'blackhole', prefix: P(s) });
const via = (s: string, gw: number, device = 'tunl0'): KernelRoute => ({ kind: 'unicast', prefix: P(s), nextHops: [{ gateway: gw, device, onlink: true }] });
const G7 = 0x0aa06907;
const G8 = 0x0aa06908;

t.test('coalesces per prefix and writes once', async (t) => {
  const fib = new FakeFib();
  const sync = new KernelSync({ fib, scanIntervalMs: 0 });
  await sync.start();
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: via('172.18.96.128/26', G7) }]);
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: via('172.18.96.128/26', G8) }]);
  sync.setDesired([{ prefix: P('172.18.64.0/26'), route: bh('172.18.64.0/26') }, { prefix: P('172.18.64.0/26'), route: null }]);
  await sync.whenIdle();
  t.equal(fib.log.length, 1, 'one write: last state wins, add+remove cancels');
  t.match(fib.log[0], { op: 'replace', exclusive: true, route: { nextHops: [{ gateway: G8 }] } });
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: via('172.18.96.128/26', G7) }]);
  await sync.whenIdle();
  t.match(fib.log[1], { op: 'replace', exclusive: false }, 'known route of ours: atomic replace');
  await sync.stop();
  t.equal(fib.routes.size, 1, 'persist by default');
});

t.test('restart: adopt equal routes, keep unclaimed until converged', async (t) => {
  const fib = new FakeFib();
  await fib.apply([
    { op: 'replace', route: bh('172.18.64.0/26'), exclusive: true },
    { op: 'replace', route: via('172.18.96.128/26', G8), exclusive: true },
    { op: 'replace', route: via('172.18.1.0/26', G8), exclusive: true },
  ]);
  fib.log.length = 0;
  const events: KernelSyncEvent[] = [];
  const sync = new KernelSync({ fib, scanIntervalMs: 0, onEvent: (e) => events.push(e) });
  sync.setDesired([{ prefix: P('172.18.64.0/26'), route: bh('172.18.64.0/26') }]);
  await sync.start();
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: via('172.18.96.128/26', G8) }]);
  await sync.whenIdle();
  t.same(fib.log, [], 'no write at all');
  t.match(events[0], { type: 'adopted', adopted: 1, unclaimed: 2 });
  sync.converged();
  await sync.whenIdle();
  t.same(fib.log, [{ op: 'delete', prefix: P('172.18.1.0/26'), priority: null }]);
  await sync.stop();
});

t.test('retry with back-off, then recovery; foreign prefix reported', async (t) => {
  const fib = new FakeFib({ devices: ['tunl0'] });
  fib.foreign.add(P('172.18.5.0/26'));
  const events: KernelSyncEvent[] = [];
  const sync = new KernelSync({ fib, scanIntervalMs: 0, retryInitialMs: 10, retryMaxMs: 40, onEvent: (e) => events.push(e) });
  await sync.start();
  fib.failWrites(P('172.18.64.0/26'), ERRNO.ENOBUFS, ERRNO.ENETDOWN);
  sync.setDesired([
    { prefix: P('172.18.64.0/26'), route: bh('172.18.64.0/26') },
    { prefix: P('172.18.5.0/26'), route: bh('172.18.5.0/26') },
  ]);
  await new Promise((r) => setTimeout(r, 150));
  const failed = events.filter((e) => e.type === 'write-failed' && e.prefix === P('172.18.64.0/26'));
  t.same(failed.map((e) => (e.type === 'write-failed' ? e.retryInMs : 0)), [10, 20]);
  t.ok(events.some((e) => e.type === 'write-recovered' && e.prefix === P('172.18.64.0/26')));
  t.equal(sync.failure(P('172.18.5.0/26'))?.errno, ERRNO.EEXIST, 'someone else holds it: reported, not replaced');
  t.notOk(fib.routes.has(P('172.18.5.0/26')));
  t.match(sync.status(), { failed: 1 });
  await sync.stop();
});

t.test('repair after an outside delete or change; scan catches a silent delete', async (t) => {
  const fib = new FakeFib();
  const events: KernelSyncEvent[] = [];
  const sync = new KernelSync({ fib, scanIntervalMs: 0, repairDelayMs: 1, onEvent: (e) => events.push(e) });
  await sync.start();
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: via('172.18.96.128/26', G8) }]);
  await sync.whenIdle();
  fib.externalDelete(P('172.18.96.128/26'));
  await new Promise((r) => setTimeout(r, 20));
  await sync.whenIdle();
  t.ok(fib.routes.has(P('172.18.96.128/26')));
  fib.externalReplace(via('172.18.96.128/26', G7));
  await new Promise((r) => setTimeout(r, 20));
  await sync.whenIdle();
  t.match(fib.routes.get(P('172.18.96.128/26')), { nextHops: [{ gateway: G8 }] });
  fib.externalDelete(P('172.18.96.128/26'), true);
  sync.requestScan();
  await new Promise((r) => setTimeout(r, 20));
  await sync.whenIdle();
  t.ok(fib.routes.has(P('172.18.96.128/26')));
  t.same(events.filter((e) => e.type === 'repair').map((e) => (e.type === 'repair' ? e.reason : '')), ['deleted', 'changed', 'scan']);
  await sync.stop();
});

t.test('non-persist stop removes ours', async (t) => {
  const fib = new FakeFib();
  const sync = new KernelSync({ fib, scanIntervalMs: 0, persist: false });
  await sync.start();
  sync.setDesired([{ prefix: P('172.18.64.0/26'), route: bh('172.18.64.0/26') }]);
  await sync.whenIdle();
  await sync.stop();
  t.equal(fib.routes.size, 0);
  t.ok(fib.closed);
});

t.test('address removed: silent flush found by a scan; address added: failed writes retried at once', async (t) => {
  const fib = new FakeFib({ devices: ['eth0'] });
  const events: KernelSyncEvent[] = [];
  // A long back-off, so only the address notification can explain a prompt retry.
  const sync = new KernelSync({ fib, scanIntervalMs: 0, repairDelayMs: 1, retryInitialMs: 60_000, onEvent: (e) => events.push(e) });
  await sync.start();
  const direct: KernelRoute = { kind: 'unicast', prefix: P('172.18.96.128/26'), nextHops: [{ gateway: G8, device: 'eth0', onlink: false }] };
  sync.setDesired([{ prefix: P('172.18.96.128/26'), route: direct }]);
  await sync.whenIdle();
  // The kernel flushes routes through a device that lost its last IPv4 address without telling
  // anyone, and refuses them back until the address returns.
  fib.externalDelete(P('172.18.96.128/26'), true);
  fib.failWrites(P('172.18.96.128/26'), ERRNO.ENETUNREACH);
  fib.emit({ type: 'address', added: false, family: 4, address: '10.160.105.6', prefixLength: 24, device: 'eth0' });
  await new Promise((r) => setTimeout(r, 20));
  await sync.whenIdle();
  t.equal(sync.failure(P('172.18.96.128/26'))?.errno, ERRNO.ENETUNREACH, 'the scan found it gone and the re-add failed');
  t.notOk(fib.routes.has(P('172.18.96.128/26')));
  fib.emit({ type: 'address', added: true, family: 4, address: '10.160.105.6', prefixLength: 24, device: 'eth0' });
  await new Promise((r) => setTimeout(r, 20));
  await sync.whenIdle();
  t.ok(fib.routes.has(P('172.18.96.128/26')), 'back long before the 60 s back-off');
  t.equal(sync.failure(P('172.18.96.128/26')), undefined);
  t.same(
    events.filter((e) => e.type === 'address').map((e) => (e.type === 'address' ? e.added : null)),
    [false, true],
  );
  t.ok(events.some((e) => e.type === 'write-recovered'));
  await sync.stop();
});

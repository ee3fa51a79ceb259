// sd_notify through the addon: a datagram reaches a receiver bound to a path and to an abstract
// name ('@...'), errors carry the errno code and syscall, and an unset NOTIFY_SOCKET sends nothing.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sdNotify } from '../../src/native.js';
import type { NativeError } from '../../src/native.js';
import { DGRAM_RECEIVER_PY, spawnLines } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wren-sdnotify-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

for (const [name, address] of [
  ['filesystem path', join(dir, 'notify.sock')],
  ['abstract name', `@wren-test-notify-${process.pid}`],
] as const) {
  t.test(`READY=1 reaches a receiver on a ${name}`, async (t) => {
    const rx = spawnLines(t, 'python3', ['-c', DGRAM_RECEIVER_PY, address]);
    await rx.waitFor((l) => l['ready'] === true, 10_000);
    t.equal(sdNotify('READY=1\nSTATUS=peers up', address), true);
    const got = await rx.waitFor((l) => typeof l['data'] === 'string', 5_000);
    t.equal(got['data'], 'READY=1\nSTATUS=peers up');
    rx.child.kill('SIGTERM');
  });
}

t.test('NOTIFY_SOCKET taken from the environment; unset sends nothing', async (t) => {
  const address = `@wren-test-env-${process.pid}`;
  const rx = spawnLines(t, 'python3', ['-c', DGRAM_RECEIVER_PY, address]);
  await rx.waitFor((l) => l['ready'] === true, 10_000);
  const saved = process.env['NOTIFY_SOCKET'];
  t.teardown(() => {
    if (saved === undefined) delete process.env['NOTIFY_SOCKET'];
    else process.env['NOTIFY_SOCKET'] = saved;
  });
  delete process.env['NOTIFY_SOCKET'];
  t.equal(sdNotify('READY=1'), false, 'no socket: nothing sent');
  process.env['NOTIFY_SOCKET'] = address;
  t.equal(sdNotify('WATCHDOG=1'), true);
  const got = await rx.waitFor((l) => typeof l['data'] === 'string', 5_000);
  t.equal(got['data'], 'WATCHDOG=1');
  rx.child.kill('SIGTERM');
});

t.test('errors are Node-style errno errors, never an abort', async (t) => {
  const err = (() => {
    try {
      sdNotify('READY=1', join(dir, 'missing.sock'));
    } catch (e) {
      return e as NativeError;
    }
    return null;
  })();
  t.ok(err instanceof Error);
  t.match(err, { code: 'ENOENT', errno: -2, syscall: 'sendto' });
  t.match(err?.message, /^sendto ENOENT: No such file or directory/);
  t.throws(() => sdNotify('READY=1', 'relative/path'), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => sdNotify('READY=1', '/' + 'x'.repeat(200)), { code: 'ERR_OUT_OF_RANGE' });
});

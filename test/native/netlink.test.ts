// The addon's netlink socket in a network namespace of our own: a watch socket that overruns
// (a flood of route changes from `ip -batch` while it is not read) reports 'overrun' and lives
// on (netlink 0.3.0 aborted the process there), KernelSync rescans after it, and kernel error
// replies carry the NETLINK_EXT_ACK text.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnLines, tsChildArgv } from './helpers.js';
import type { TapLike } from './helpers.js';

const FLOOD = 20_000 as const;
let counter = 0;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeNs(t: TapLike): string {
  const ns = `wrennat${process.pid}x${counter++}`;
  ip('netns', 'add', ns);
  t.teardown(() => {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  });
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  return ns;
}

/** FLOOD blackhole routes of proto static, added then deleted: 2 × FLOOD notifications. */
function flood(t: TapLike, ns: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'wren-flood-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const add: string[] = [];
  const del: string[] = [];
  for (let i = 0; i < FLOOD; i++) {
    const p = `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`;
    add.push(`route add blackhole ${p} proto static`);
    del.push(`route del blackhole ${p} proto static`);
  }
  writeFileSync(join(dir, 'add'), add.join('\n') + '\n');
  writeFileSync(join(dir, 'del'), del.join('\n') + '\n');
  ip('-n', ns, '-batch', join(dir, 'add'));
  ip('-n', ns, '-batch', join(dir, 'del'));
}

const child = (t: TapLike, ns: string, mode: string) => spawnLines(t, 'ip', ['netns', 'exec', ns, ...tsChildArgv('netlink-child.ts'), mode]);

t.test('raw watch socket: overrun is reported, the process survives and reads on', async (t) => {
  const ns = makeNs(t);
  const c = child(t, ns, 'raw');
  await c.waitFor((l) => l['ready'] === true, 30_000);
  flood(t, ns);
  c.send('go');
  const done = await c.waitFor((l) => l['done'] === true, 30_000);
  t.ok(Number(done['overruns']) >= 1, `overrun reported (${String(done['overruns'])})`);
  t.ok(Number(done['datagrams']) > 0, 'what fit in the buffer was still read');
  t.ok(Number(done['datagrams']) < 2 * FLOOD, 'and the rest was dropped by the kernel');
  t.equal(await c.exited(), 0, 'exited normally: no abort');
});

t.test('KernelSync: a watch overrun leads to a rescan, routes stay in sync', async (t) => {
  const ns = makeNs(t);
  const c = child(t, ns, 'sync');
  const ready = await c.waitFor((l) => l['ready'] === true, 30_000);
  t.equal(ready['installed'], 10);
  flood(t, ns);
  c.send('go');
  const done = await c.waitFor((l) => l['done'] === true, 30_000);
  t.equal(done['overrunSeen'], true, 'overrun seen');
  t.ok(Number(done['scans']) > Number(done['scansBefore']), 'rescanned');
  t.match(done, { installed: 10, failed: 0 });
  t.ok((done['events'] as string[]).includes('scan'), 'scan event');
  t.equal(await c.exited(), 0);
  t.equal(ip('-n', ns, 'route', 'show', 'proto', 'bird').trim().split('\n').length, 10, 'our routes are still there');
});

t.test('kernel error text (NETLINK_EXT_ACK) reaches the write result', async (t) => {
  const ns = makeNs(t);
  const c = child(t, ns, 'extack');
  const done = await c.waitFor((l) => l['done'] === true, 30_000);
  t.match(done['result'], { ok: false, errno: 101, code: 'ENETUNREACH', message: 'ENETUNREACH: Nexthop has invalid gateway' });
  t.same(done['deleteMissing'], { ok: true }, 'deleting what is not there is success (ESRCH)');
  t.equal(await c.exited(), 0);
});

t.test('many small batches: every failure lands on its own write', async (t) => {
  const ns = makeNs(t);
  const c = child(t, ns, 'batches');
  const done = await c.waitFor((l) => l['done'] === true, 60_000);
  t.same(
    done['failedAt'],
    Array.from({ length: 10 }, (_, k) => ({ i: k * 100 + 50, code: 'ENETUNREACH' })),
  );
  t.match(done, { deletesOk: true, deletes: 1000 }, 'deletes, including of the 10 never installed, succeed');
  t.equal(await c.exited(), 0);
  t.equal(ip('-n', ns, 'route', 'show', 'proto', 'bird').trim(), '', 'nothing left');
});

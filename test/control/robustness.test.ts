// Hostile and heavy clients on both sockets: over-long lines, many clients, a client that never
// reads, stale socket files, permissions, the JSON socket's limits and read-only mode.
process.env['TZ'] = 'UTC';
import t from 'tap';
import { statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { BirdSocketServer } from '../../src/control/bird-socket.js';
import { JsonSocketServer } from '../../src/control/json-socket.js';
import { BirdClient, bgpRoute, seedNode, tempSocket } from './fixtures.js';

async function until(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function jsonExchange(path: string, payload: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    let buf = '';
    s.setEncoding('utf8');
    s.once('connect', () => s.write(payload));
    s.on('data', (d: string) => (buf += d));
    s.on('close', () => resolve(buf.split('\n').filter((l) => l !== '')));
    s.on('error', reject);
    setTimeout(() => s.end(), 300);
  });
}

t.test('over-long command: 9000, discarded to the newline, connection keeps working', async (t) => {
  const server = await BirdSocketServer.listen({ path: tempSocket(), backend: seedNode(), version: '1.6.8' });
  t.teardown(() => server.close());
  const c = await BirdClient.connect(server.path);
  await c.reply();
  t.equal(await c.command('x'.repeat(5000)), '9000 Command too long\n');
  // in pieces, with a valid command pipelined right behind it
  c.socket.write('show ' + 'y'.repeat(3000));
  c.socket.write('z'.repeat(3000));
  c.socket.write('\nshow route count\n');
  t.equal(await c.reply(), '9000 Command too long\n');
  t.equal(await c.reply(), '0014 4 of 4 routes for 4 networks\n');
  t.equal(await c.command('show ' + 'a'.repeat(4089)), '9001 syntax error\n', '4094 bytes is still a command');
  t.equal(await c.command('show ' + 'a'.repeat(4090)), '9000 Command too long\n', '4095 bytes is too long');
  c.close();
});

t.test('200 concurrent clients, pipelined commands answered in order', async (t) => {
  const server = await BirdSocketServer.listen({ path: tempSocket(), backend: seedNode(), version: '1.6.8' });
  t.teardown(() => server.close());
  const clients = await Promise.all(Array.from({ length: 200 }, () => BirdClient.connect(server.path)));
  const results = await Promise.all(
    clients.map(async (c) => {
      await c.reply();
      c.socket.write('show route count\nshow protocols "nomatch"\nshow status\n');
      const a = await c.reply();
      const b = await c.reply();
      const s = await c.reply();
      c.close();
      return a === '0014 4 of 4 routes for 4 networks\n' && b === '8003 No protocols match\n' && s.endsWith('0013 Daemon is up and running\n');
    }),
  );
  t.equal(results.filter(Boolean).length, 200);
});

t.test('client cap: the extra client is told and closed', async (t) => {
  const server = await BirdSocketServer.listen({ path: tempSocket(), backend: seedNode(), maxClients: 3 });
  t.teardown(() => server.close());
  const held = await Promise.all([1, 2, 3].map(() => BirdClient.connect(server.path)));
  for (const c of held) await c.reply();
  const extra = await BirdClient.connect(server.path);
  t.equal(await extra.ended(), '8000 Too many connections\n');
  held[0]?.close();
  await new Promise((r) => setTimeout(r, 50));
  const again = await BirdClient.connect(server.path);
  t.match(await again.reply(), /^0001 BIRD/);
  for (const c of [...held, again]) c.close();
});

t.test('a client that never reads is dropped; memory stays bounded; others are served', async (t) => {
  const b = seedNode();
  b.routeList = Array.from({ length: 60_000 }, (_, i) => bgpRoute(`10.${(i >> 8) & 255}.${i & 255}.0/24`, '10.160.105.7'));
  const server = await BirdSocketServer.listen({
    path: tempSocket(),
    backend: b,
    flow: { highWaterBytes: 64 * 1024, maxBufferedBytes: 1024 * 1024, stallTimeoutMs: 500 },
  });
  t.teardown(() => server.close());
  const heapBefore = process.memoryUsage().heapUsed;
  const lazy = connect({ path: server.path });
  lazy.on('error', () => undefined);
  await new Promise<void>((r) => lazy.once('connect', () => r()));
  lazy.pause(); // never read
  // a full-table dump (about 6 MB of text) requested several times, plus a flood of commands
  lazy.write('show route all\n'.repeat(5) + 'show status\n'.repeat(5000));
  const other = await BirdClient.connect(server.path);
  await other.reply();
  const t0 = Date.now();
  t.equal(await other.command('show route count'), '0014 60000 of 60000 routes for 60000 networks\n');
  t.ok(Date.now() - t0 < 2000, 'another client is answered while the lazy one is stuck');
  // The lazy client is paused so it cannot see EOF; the server's own count is the evidence.
  t.ok(await until(() => server.clientCount === 1), 'the lazy client was dropped');
  lazy.destroy();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  t.ok(grown < 64 * 1024 * 1024, `heap growth ${Math.round(grown / 1024 / 1024)} MiB stays bounded`);
  t.equal(await other.command('show route count'), '0014 60000 of 60000 routes for 60000 networks\n');
  other.close();
});

t.test('socket file: mode 0660, stale file replaced, live daemon refused, non-socket refused', async (t) => {
  const path = tempSocket();
  const s1 = await BirdSocketServer.listen({ path, backend: seedNode() });
  t.equal(statSync(path).mode & 0o777, 0o660);
  await t.rejects(BirdSocketServer.listen({ path, backend: seedNode() }), { code: 'ERR_CONTROL_SOCKET_IN_USE' });
  await t.rejects(JsonSocketServer.listen({ path, backend: seedNode() }), { code: 'ERR_CONTROL_SOCKET_IN_USE' });
  await s1.close();
  t.notOk(existsSync(path), 'close() unlinks the socket');

  // a stale socket file: bound once, its listener gone without unlinking
  const stale = tempSocket();
  // a daemon that crashed: bound, then SIGKILLed, so nothing unlinked the file
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.ok(existsSync(stale), 'stale socket file left behind');
  const s2 = await JsonSocketServer.listen({ path: stale, backend: seedNode() });
  t.equal(statSync(stale).mode & 0o777, 0o660);
  await s2.close();

  const file = tempSocket();
  writeFileSync(file, 'not a socket');
  await t.rejects(BirdSocketServer.listen({ path: file, backend: seedNode() }), { code: 'ERR_CONTROL_SOCKET_NOT_SOCKET' });
});

t.test('JSON socket: pipelining, ids, invalid JSON, unknown command, size limit, read-only', async (t) => {
  const b = seedNode();
  const path = tempSocket('bgpd.sock');
  const server = await JsonSocketServer.listen({ path, backend: b, maxRequestBytes: 1024 });
  t.teardown(() => server.close());
  const lines = await jsonExchange(
    path,
    '{"id":1,"command":"show status"}\n{"id":"b","command":"nope"}\nnot json\n{"command":"show neighbor","args":{"address":"10.160.105.7"}}\n{"id":5,"command":"neighbor","args":{"address":"10.160.105.8","action":"disable"}}\n',
  );
  const replies = lines.map((l) => JSON.parse(l) as { id?: unknown; ok: boolean; error?: string; result?: { neighbor?: { name: string }; routerId?: string } });
  t.equal(replies.length, 5);
  t.match(replies[0], { id: 1, ok: true, result: { routerId: '10.160.105.6' } });
  t.match(replies[1], { id: 'b', ok: false, error: 'unknown command "nope"' });
  t.match(replies[2], { ok: false, error: 'request is not valid JSON' });
  t.equal(replies[3]?.result?.neighbor?.name, 'Mesh_10_160_105_7');
  t.match(replies[4], { id: 5, ok: true, result: { name: 'Mesh_10_160_105_8', action: 'disable' } });

  const big = await jsonExchange(path, `{"command":"show status","pad":"${'x'.repeat(2000)}"}\n{"command":"show status"}\n`);
  t.same(big.map((l) => JSON.parse(l) as unknown), [{ ok: false, error: 'request too large (limit 1024 bytes)' }], 'error reply then close');

  const roPath = tempSocket('ro.sock');
  const ro = await JsonSocketServer.listen({ path: roPath, backend: b, readOnly: true });
  t.teardown(() => ro.close());
  const roReplies = (await jsonExchange(roPath, '{"command":"reload"}\n{"command":"log level","args":{"level":"debug"}}\n{"command":"show neighbors"}\n')).map(
    (l) => JSON.parse(l) as { ok: boolean; error?: string },
  );
  t.match(roReplies[0], { ok: false, error: /read-only/ });
  t.match(roReplies[1], { ok: false, error: /read-only/ });
  t.match(roReplies[2], { ok: true });
  t.equal(b.rec.reloads, 0);
});

t.test('JSON socket streams a big RIB and survives a slow reader', async (t) => {
  const b = seedNode();
  b.routeList = Array.from({ length: 20_000 }, (_, i) => bgpRoute(`10.${(i >> 8) & 255}.${i & 255}.0/24`, '10.160.105.7'));
  const path = tempSocket('big.sock');
  const server = await JsonSocketServer.listen({ path, backend: b, flow: { highWaterBytes: 64 * 1024, maxBufferedBytes: 1024 * 1024, stallTimeoutMs: 500 } });
  t.teardown(() => server.close());
  const lines = await new Promise<string[]>((resolve) => {
    const s = connect({ path });
    let buf = '';
    s.setEncoding('utf8');
    s.write('{"id":7,"command":"show routes"}\n');
    s.on('data', (d: string) => {
      buf += d;
      if (buf.endsWith('\n')) {
        s.destroy();
        resolve(buf.split('\n').filter((l) => l !== ''));
      }
    });
  });
  const reply = JSON.parse(lines[0] ?? '{}') as { id: number; ok: boolean; result: { routes: unknown[]; nowMs: number } };
  t.equal(reply.id, 7);
  t.equal(reply.result.routes.length, 20_000);

  const lazy = connect({ path });
  lazy.on('error', () => undefined);
  lazy.pause();
  lazy.write('{"command":"show routes"}\n'.repeat(3));
  t.ok(await until(() => server.clientCount === 0), 'slow JSON reader dropped');
  lazy.destroy();
});

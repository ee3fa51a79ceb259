// GTSM (RFC 5082): IP_TTL / IP_MINTTL (and the IPv6 hop-limit options on IPv6 sockets) set on a
// socket's fd read back with getsockopt; end to end on 127.0.0.1 (loopback does not decrement
// the TTL), a listener with minimum TTL 255 accepts a client sending with TTL 255 and never
// completes the handshake with one sending the default 64.
import t from 'tap';
import type { TapLike } from './helpers.js';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { connectTcp, getHopOptions, setMinTtl, setTtl } from '../../src/native.js';

async function listen(t: TapLike, host: string): Promise<{ server: Server; port: number } | null> {
  const server = createServer((c) => c.on('data', (d) => c.write(d)));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
  } catch {
    return null;
  }
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return { server, port: a.port };
}

t.test('setsockopt round trip, IPv4', async (t) => {
  const l = await listen(t, '127.0.0.1');
  if (l === null) throw new Error('cannot listen on 127.0.0.1');
  t.same(getHopOptions(l.server), { ttl: 64, minTtl: 0 });
  setTtl(l.server, 255);
  setMinTtl(l.server, 254);
  t.same(getHopOptions(l.server), { ttl: 255, minTtl: 254 });
  setMinTtl(l.server, 0);
  t.same(getHopOptions(l.server), { ttl: 255, minTtl: 0 }, '0 turns the check off');
  t.throws(() => setMinTtl(l.server, 256), RangeError);
  t.throws(() => setTtl(l.server, 0), RangeError);
});

t.test('setsockopt round trip, IPv6 socket: both families set', async (t) => {
  const l = await listen(t, '::1');
  if (l === null) {
    t.comment('no IPv6 loopback: skipped');
    return;
  }
  setTtl(l.server, 255);
  setMinTtl(l.server, 254);
  t.same(getHopOptions(l.server), { ttl: 255, minTtl: 254, hopLimit: 255, minHopCount: 254 });
});

t.test('end to end: minimum TTL 255 admits TTL 255 and drops TTL 64', async (t) => {
  const l = await listen(t, '127.0.0.1');
  if (l === null) throw new Error('cannot listen on 127.0.0.1');
  setTtl(l.server, 255); // its SYN-ACKs must pass the client's check too
  setMinTtl(l.server, 255);
  const ok = await connectTcp({ address: '127.0.0.1', port: l.port, ttl: 255, minTtl: 255, timeoutMs: 5000 });
  t.match(getHopOptions(ok), { ttl: 255, minTtl: 255 }, 'options set before connect are on the socket');
  const echoed = new Promise<string>((r) => ok.once('data', (d: Buffer) => r(d.toString('utf8'))));
  ok.write('gtsm');
  t.equal(await echoed, 'gtsm');
  ok.destroy();
  await t.rejects(connectTcp({ address: '127.0.0.1', port: l.port, timeoutMs: 1500 }), { code: 'ETIMEDOUT' }, 'TTL 64 SYNs are dropped');
});

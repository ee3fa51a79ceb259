// TCP_SAVE_SYN / TCP_SAVED_SYN: the TTL (hop limit) an accepted connection's SYN arrived with.
// Clients connect through the addon with a chosen IP_TTL / IPV6_UNICAST_HOPS set before the SYN
// (node:net creates its fd only inside connect(), so it cannot); loopback does not decrement it,
// so the server must read back exactly the value the client set.
import t from 'tap';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { TapLike } from './helpers.js';
import { connectTcp, savedSynTtl, setSaveSyn } from '../../src/native.js';

interface Listening {
  readonly server: Server;
  readonly port: number;
  /** The next accepted socket, paused (nothing read from it). */
  next(): Promise<Socket>;
}

async function listen(t: TapLike, host: string, saveSyn: boolean): Promise<Listening | null> {
  const queue: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const accepted = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (c) => {
    accepted.add(c);
    const w = waiting.shift();
    if (w !== undefined) w(c);
    else queue.push(c);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host, ipv6Only: host !== '::' && host.includes(':') }, resolve);
    });
  } catch {
    return null;
  }
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const c of accepted) c.destroy();
        server.close(() => r());
      }),
  );
  if (saveSyn) setSaveSyn(server, true);
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return {
    server,
    port: a.port,
    next: () => {
      const s = queue.shift();
      return s !== undefined ? Promise.resolve(s) : new Promise((r) => waiting.push(r));
    },
  };
}

async function client(t: TapLike, address: string, port: number, ttl?: number): Promise<Socket> {
  const c = await connectTcp({ address, port, ...(ttl === undefined ? {} : { ttl }), timeoutMs: 5000 });
  t.teardown(() => {
    c.destroy();
  });
  return c;
}

t.test('IPv4: the SYN TTL the client set, once', async (t) => {
  const l = await listen(t, '127.0.0.1', true);
  if (l === null) throw new Error('cannot listen on 127.0.0.1');
  for (const ttl of [77, 255, 1]) {
    await client(t, '127.0.0.1', l.port, ttl);
    const s = await l.next();
    t.equal(savedSynTtl(s), ttl, `TTL ${ttl}`);
    t.equal(savedSynTtl(s), null, 'the kernel frees it on the first read');
  }
  await client(t, '127.0.0.1', l.port);
  t.equal(savedSynTtl(await l.next()), 64, 'the default TTL (net.ipv4.ip_default_ttl)');
});

t.test('IPv6: the SYN hop limit', async (t) => {
  const l = await listen(t, '::1', true);
  if (l === null) {
    t.comment('no IPv6 loopback: skipped');
    return;
  }
  for (const hops of [99, 255]) {
    await client(t, '::1', l.port, hops);
    t.equal(savedSynTtl(await l.next()), hops, `hop limit ${hops}`);
  }
});

t.test('dual-stack listener: an IPv4 client gives its IPv4 TTL, an IPv6 one its hop limit', async (t) => {
  const l = await listen(t, '::', true);
  if (l === null) {
    t.comment('no IPv6: skipped');
    return;
  }
  await client(t, '127.0.0.1', l.port, 42);
  const s4 = await l.next();
  t.equal(s4.remoteAddress, '::ffff:127.0.0.1', 'a v4-mapped client');
  t.equal(savedSynTtl(s4), 42, 'read from the IPv4 header of the SYN');
  await client(t, '::1', l.port, 200);
  t.equal(savedSynTtl(await l.next()), 200, 'read from the IPv6 header');
});

t.test('nothing saved: a listener without the option, or one given it after the SYN', async (t) => {
  const l = await listen(t, '127.0.0.1', false);
  if (l === null) throw new Error('cannot listen on 127.0.0.1');
  await client(t, '127.0.0.1', l.port, 77);
  const before = await l.next();
  setSaveSyn(l.server, true);
  t.equal(savedSynTtl(before), null, 'a SYN answered before TCP_SAVE_SYN was set is not saved');
  await client(t, '127.0.0.1', l.port, 78);
  t.equal(savedSynTtl(await l.next()), 78, 'the next one is');
  setSaveSyn(l.server, false);
  await client(t, '127.0.0.1', l.port, 79);
  t.equal(savedSynTtl(await l.next()), null, 'and none once it is off again');
});

t.test('errors are shaped like the other socket calls', async (t) => {
  t.throws(() => savedSynTtl(1_000_000), { code: 'EBADF', syscall: 'getsockopt' });
  t.throws(() => setSaveSyn(1_000_000, true), { code: 'EBADF', syscall: 'getsockopt' });
  t.throws(() => savedSynTtl(-1), RangeError);
});

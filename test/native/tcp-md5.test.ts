// TCP MD5 signatures (RFC 2385) on 127.0.0.1: a listening net.Server keyed per peer address and
// an outgoing socket keyed before its SYN (connectTcp). Matching keys connect and carry data; a
// wrong key or no key never completes the handshake (the SYNs are dropped: timeout, not reset).
import t from 'tap';
import type { TapLike } from './helpers.js';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { connectTcp, getHopOptions, setTcpMd5, socketFd } from '../../src/native.js';

const KEY = 'secret';
const NO_HANDSHAKE_MS = 1500;

async function echoServer(t: TapLike): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((c) => {
    accepted++;
    c.on('data', (d) => c.write(d));
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return { server, port: addr.port, accepted: () => accepted };
}

async function roundTrip(s: Socket, text: string): Promise<string> {
  const got = new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString('utf8'))));
  s.write(text);
  return got;
}

t.test('listener fd and connected fd are reachable as _handle.fd', async (t) => {
  const { server, port } = await echoServer(t);
  const sfd = socketFd(server);
  t.ok(sfd > 2, 'server fd');
  const c = connect(port, '127.0.0.1');
  await new Promise<void>((r) => c.once('connect', r));
  t.ok(socketFd(c) > 2, 'client fd');
  t.match(getHopOptions(c), { ttl: 64 });
  c.destroy();
  t.throws(() => socketFd(createServer()), /no file descriptor/, 'a server not listening has none');
});

t.test('matching keys: handshake completes and data flows', async (t) => {
  const { server, port, accepted } = await echoServer(t);
  setTcpMd5(server, '127.0.0.1', KEY);
  const s = await connectTcp({ address: '127.0.0.1', port, md5Key: KEY, timeoutMs: 5000 });
  t.teardown(() => s.destroy());
  t.equal(s.remoteAddress, '127.0.0.1');
  t.equal(s.remotePort, port);
  t.equal(await roundTrip(s, 'hello'), 'hello');
  t.equal(accepted(), 1);
});

t.test('mismatched key: SYNs are dropped, no connection', async (t) => {
  const { server, port, accepted } = await echoServer(t);
  setTcpMd5(server, '127.0.0.1', KEY);
  const t0 = performance.now();
  await t.rejects(connectTcp({ address: '127.0.0.1', port, md5Key: 'not-the-secret', timeoutMs: NO_HANDSHAKE_MS }), { code: 'ETIMEDOUT' });
  t.ok(performance.now() - t0 >= NO_HANDSHAKE_MS - 50, 'waited the whole timeout: dropped, not refused');
  await t.rejects(connectTcp({ address: '127.0.0.1', port, timeoutMs: NO_HANDSHAKE_MS }), { code: 'ETIMEDOUT' }, 'no key at all');
  t.equal(accepted(), 0, 'the server never accepted');
});

t.test('a keyed client is refused by an unkeyed listener; removing the key reopens it', async (t) => {
  const { server, port, accepted } = await echoServer(t);
  await t.rejects(connectTcp({ address: '127.0.0.1', port, md5Key: KEY, timeoutMs: NO_HANDSHAKE_MS }), { code: 'ETIMEDOUT' }, 'unsigned SYN-ACK dropped by the keyed client');
  setTcpMd5(server, '127.0.0.1', KEY);
  setTcpMd5(server, '127.0.0.1', ''); // removed again
  const plain = await connectTcp({ address: '127.0.0.1', port, timeoutMs: 5000 });
  t.equal(await roundTrip(plain, 'plain'), 'plain');
  plain.destroy();
  t.ok(accepted() >= 1);
});

t.test('connect errors and bad arguments are errors, never aborts', async (t) => {
  const { server } = await echoServer(t);
  const closedPort = 1;
  await t.rejects(connectTcp({ address: '127.0.0.1', port: closedPort, timeoutMs: 5000 }), { code: 'ECONNREFUSED', syscall: 'connect' });
  t.throws(() => setTcpMd5(server, 'not-an-ip', KEY), { code: 'ERR_INVALID_IP_ADDRESS' });
  t.throws(() => setTcpMd5(server, '127.0.0.1', 'k'.repeat(81)), RangeError);
  t.throws(() => setTcpMd5(server, '::1', KEY), { code: 'EAFNOSUPPORT', syscall: 'setsockopt' }, 'IPv6 peer on an IPv4 socket');
  t.throws(() => setTcpMd5(0, '127.0.0.1', KEY), { code: 'ENOTSOCK' }, 'stdin is not a socket');
  await t.rejects(connectTcp({ address: '127.0.0.1', port: 0 }), { code: 'ERR_SOCKET_BAD_PORT' });
});

t.test('IPv6 dual-stack listener keys an IPv4 peer through its v4-mapped address', async (t) => {
  let accepted = 0;
  const server = createServer((c) => {
    accepted++;
    c.on('data', (d) => c.write(d));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::', resolve);
    });
  } catch {
    t.comment('no IPv6 on this machine: skipped');
    return;
  }
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  setTcpMd5(server, '127.0.0.1', KEY);
  const s = await connectTcp({ address: '127.0.0.1', port: addr.port, md5Key: KEY, timeoutMs: 5000 });
  t.equal(await roundTrip(s, 'mapped'), 'mapped');
  s.destroy();
  await t.rejects(connectTcp({ address: '127.0.0.1', port: addr.port, md5Key: 'wrong', timeoutMs: NO_HANDSHAKE_MS }), { code: 'ETIMEDOUT' });
  t.equal(accepted, 1);
});

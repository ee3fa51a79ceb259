// TCP MD5 (RFC 2385) and GTSM (RFC 5082) in the session driver: the pure rules of
// src/session/security.ts, then two wren SessionManagers over loopback (MD5 works on lo, and lo
// does not decrement the TTL, so a TTL-64 sender fails a minimum TTL of 255): signed sessions in
// both directions, a wrong key, unsigned peers on the same listener, a key change by
// remove + add (what a reload does), connect errors worded as before, and GTSM on outgoing and
// accepted sockets (an accepted one judged by its saved SYN's TTL).
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, side, sessionConfig, waitFor } from './helpers.js';
import type { Side } from './helpers.js';
import {
  GTSM_TTL,
  gtsmMinTtl,
  hasPassword,
  listenerFamilies,
  listenerTakesPeer,
  md5KeyBytes,
  needsNativeConnect,
} from '../../src/session/security.js';
import type { ManagedPeerOptions } from '../../src/session/manager.js';
import type { Peer } from '../../src/session/peer.js';
import { nativeAvailable } from '../../src/native.js';

const A_ID = 0x01010101;
const B_ID = 0x02020202;
/** How long a blocked session is watched for not coming up. */
const QUIET_MS = 2500;

t.test('pure rules', async (t) => {
  t.equal(GTSM_TTL, 255);
  t.equal(gtsmMinTtl(1), 255, 'a direct neighbour: minimum TTL 255');
  t.equal(gtsmMinTtl(2), 254);
  t.equal(gtsmMinTtl(254), 2);
  for (const bad of [0, 255, -1, 1.5, Number.NaN]) t.throws(() => gtsmMinTtl(bad), RangeError, `hops ${bad}`);

  t.equal(hasPassword({}), false);
  t.equal(hasPassword({ password: '' }), false, 'an empty password is no password');
  t.equal(hasPassword({ password: 'x' }), true);
  t.equal(needsNativeConnect({}), false, 'plain peers keep node:net');
  t.equal(needsNativeConnect({ password: '' }), false);
  t.equal(needsNativeConnect({ password: 's' }), true);
  t.equal(needsNativeConnect({ ttlSecurityHops: 1 }), true);

  t.equal(md5KeyBytes('é').length, 2, 'keys are UTF-8 bytes');
  t.equal(md5KeyBytes('x'.repeat(80)).length, 80);
  t.throws(() => md5KeyBytes('x'.repeat(81)), RangeError);

  t.same(listenerFamilies('0.0.0.0', false), { v4: true, v6: false });
  t.same(listenerFamilies('10.0.0.1', false), { v4: true, v6: false });
  t.same(listenerFamilies('::', false), { v4: true, v6: true }, 'dual stack');
  t.same(listenerFamilies('::', true), { v4: false, v6: true });
  t.same(listenerFamilies('fd00::1', true), { v4: false, v6: true });
  t.same(listenerFamilies('fd00::1', false), { v4: false, v6: true }, 'a specific v6 address never accepts v4');

  const v4 = { v4: true, v6: false };
  const v6 = { v4: false, v6: true };
  const dual = { v4: true, v6: true };
  t.equal(listenerTakesPeer(v4, '10.0.0.2'), true);
  t.equal(listenerTakesPeer(v4, 'fd00::2'), false, 'no v6 key on an IPv4 socket');
  t.equal(listenerTakesPeer(v6, '10.0.0.2'), false, 'no v4 key on a v6-only socket');
  t.equal(listenerTakesPeer(v6, 'fd00::2'), true);
  t.equal(listenerTakesPeer(dual, '10.0.0.2'), true, 'v4-mapped on a dual-stack socket');
  t.equal(listenerTakesPeer(dual, 'not-an-ip'), false);
});

if (!nativeAvailable()) {
  t.fail('native addon not built (npx node-gyp rebuild): MD5 / GTSM cannot be tested');
} else {
  interface Pair {
    readonly a: Side;
    readonly b: Side;
    readonly pa: Peer;
    readonly pb: Peer;
  }

  interface PairOptions {
    readonly aAddr?: string;
    readonly bAddr?: string;
    /** Extra options of A's peer (for B) and B's peer (for A). */
    readonly aPeer?: Partial<ManagedPeerOptions>;
    readonly bPeer?: Partial<ManagedPeerOptions>;
    readonly aPassive?: boolean;
    readonly bPassive?: boolean;
  }

  /** A (127.0.0.1) and B (127.0.0.2); by default A connects and B listens. */
  const pair = async (t: { teardown(fn: () => unknown): void }, o: PairOptions = {}): Promise<Pair> => {
    const clock = new ManualClock();
    const aAddr = o.aAddr ?? '127.0.0.1';
    const bAddr = o.bAddr ?? '127.0.0.2';
    const a = await side(aAddr, clock);
    const b = await side(bAddr, clock);
    t.teardown(async () => {
      await a.mgr.destroy();
      await b.mgr.destroy();
    });
    const pa = a.mgr.addPeer({ address: bAddr, port: b.port, localAddress: aAddr, config: sessionConfig(65001, 65002, A_ID, { passive: o.aPassive ?? false }), ...o.aPeer });
    const pb = b.mgr.addPeer({ address: aAddr, port: a.port, localAddress: bAddr, config: sessionConfig(65002, 65001, B_ID, { passive: o.bPassive ?? true }), ...o.bPeer });
    return { a, b, pa, pb };
  };

  const up = (p: Pair): Promise<void> => waitFor(() => p.pa.state === 'Established' && p.pb.state === 'Established', 'Established', 10_000);

  t.test('MD5: A connects with the key (native connect), B accepts on a keyed listener', async (t) => {
    const p = await pair(t, { aPeer: { password: 'secret' }, bPeer: { password: 'secret' } });
    t.same(p.b.mgr.md5KeyedAddresses(), ['127.0.0.1'], 'the key is on the listener');
    p.pb.start();
    p.pa.start();
    await up(p);
    t.equal(p.pa.direction, 'outgoing');
    t.equal(p.pb.direction, 'incoming');
  });

  t.test('MD5: the other direction (B keyed and passive is now A)', async (t) => {
    const p = await pair(t, { aPassive: true, bPassive: false, aPeer: { password: 'k2' }, bPeer: { password: 'k2' } });
    p.pa.start();
    p.pb.start();
    await up(p);
    t.equal(p.pb.direction, 'outgoing');
  });

  t.test('MD5: a wrong key never completes the handshake; the connect is cancelled on stop', async (t) => {
    const p = await pair(t, { aPeer: { password: 'right' }, bPeer: { password: 'wrong' } });
    p.pb.start();
    p.pa.start();
    await sleep(QUIET_MS);
    t.equal(p.pa.state, 'Connect', 'A is still waiting for the SYN-ACK');
    t.equal(p.pb.state, 'Active');
    t.equal(p.pa.connections, 1, 'one connect in flight');
    t.equal(p.pb.counters.messagesIn.open, 0);
    p.pa.stop();
    t.equal(p.pa.state, 'Idle');
    t.equal(p.pa.connections, 0, 'the native connect was cancelled');
  });

  t.test('MD5: an unsigned client is refused by a keyed listener, an unkeyed peer on the same listener works', async (t) => {
    const clock = new ManualClock();
    const b = await side('127.0.0.2', clock);
    const a = await side('127.0.0.1', clock);
    const c = await side('127.0.0.3', clock);
    t.teardown(async () => {
      await Promise.all([a.mgr.destroy(), b.mgr.destroy(), c.mgr.destroy()]);
    });
    // B keys A, but A connects without the key; C has no key on either side.
    const pbA = b.mgr.addPeer({ address: '127.0.0.1', port: a.port, config: sessionConfig(65002, 65001, B_ID, { passive: true }), password: 'secret' });
    const pbC = b.mgr.addPeer({ address: '127.0.0.3', port: c.port, config: sessionConfig(65002, 65003, B_ID, { passive: true }) });
    const pa = a.mgr.addPeer({ address: '127.0.0.2', port: b.port, localAddress: '127.0.0.1', config: sessionConfig(65001, 65002, A_ID) });
    const pc = c.mgr.addPeer({ address: '127.0.0.2', port: b.port, localAddress: '127.0.0.3', config: sessionConfig(65003, 65002, 0x03030303) });
    for (const p of [pbA, pbC, pa, pc]) p.start();
    await waitFor(() => pc.state === 'Established' && pbC.state === 'Established', 'the unkeyed peer Established', 10_000);
    await sleep(QUIET_MS);
    t.equal(pbA.state, 'Active', 'the unsigned SYNs from the keyed address were dropped');
    t.equal(pbA.counters.messagesIn.open, 0);
    t.equal(b.mgr.refused, 0, 'dropped by the kernel, not accepted and refused');
  });

  t.test('MD5: a key change by remove + add (a reload) moves the listener key', async (t) => {
    const p = await pair(t, { aPeer: { password: 'old' }, bPeer: { password: 'old' } });
    p.pb.start();
    p.pa.start();
    await up(p);
    // B's config changes to a new password: the peer is removed and added again.
    p.b.mgr.removePeer('127.0.0.1');
    t.same(p.b.mgr.md5KeyedAddresses(), [], 'removed with the peer');
    const pb2 = p.b.mgr.addPeer({ address: '127.0.0.1', port: p.a.port, config: sessionConfig(65002, 65001, B_ID, { passive: true }), password: 'new' });
    pb2.start();
    await waitFor(() => p.pa.state !== 'Established', 'A sees the Cease');
    await sleep(QUIET_MS);
    t.not(pb2.state, 'Established', 'A still signs with the old key');
    // A gets the new key too.
    p.a.mgr.removePeer('127.0.0.2');
    const pa2 = p.a.mgr.addPeer({ address: '127.0.0.2', port: p.b.port, localAddress: '127.0.0.1', config: sessionConfig(65001, 65002, A_ID), password: 'new' });
    pa2.start();
    await waitFor(() => pa2.state === 'Established' && pb2.state === 'Established', 'Established with the new key', 10_000);
    t.pass('up again with the new key');
  });

  t.test('native connect errors read as node:net ones', async (t) => {
    const clock = new ManualClock();
    const a = await side('127.0.0.1', clock);
    t.teardown(() => a.mgr.destroy());
    const cases: { extra: Partial<ManagedPeerOptions>; plain: boolean; error: string }[] = [
      // The RST of a closed port (TTL 64) passes a minimum TTL of 56; an MD5 socket would drop
      // the unsigned RST (and time out, as BIRD does), so refusal is shown with GTSM only.
      { extra: { ttlSecurityHops: 200 }, plain: false, error: 'Socket: Connection refused' },
      { extra: {}, plain: true, error: 'Socket: Connection refused' },
      // A source address the host does not have: bind fails before any packet.
      { extra: { password: 's', localAddress: '192.0.2.1' }, plain: false, error: 'Socket: Cannot assign requested address' },
      { extra: { localAddress: '192.0.2.1' }, plain: true, error: 'Socket: Cannot assign requested address' },
    ];
    for (const c of cases) {
      const p = a.mgr.addPeer({ address: '127.0.0.9', port: 1, config: sessionConfig(65001, 65002, A_ID, { connectDelaySec: 0 }), ...c.extra });
      t.equal(needsNativeConnect(c.extra), !c.plain);
      p.start();
      await waitFor(() => p.status().lastError !== '', 'an error');
      t.equal(p.status().lastError, c.error, `${c.plain ? 'node:net' : 'native'} ${JSON.stringify(c.extra)}`);
      t.equal(p.state, 'Active');
      a.mgr.removePeer('127.0.0.9');
    }
  });

  t.test('GTSM: both sides with ttl-security 1 (TTL 255 both ways) reach Established', async (t) => {
    const p = await pair(t, { aPeer: { ttlSecurityHops: 1 }, bPeer: { ttlSecurityHops: 1 } });
    p.pb.start();
    p.pa.start();
    await up(p);
    t.pass();
  });

  t.test('GTSM + MD5 together', async (t) => {
    const p = await pair(t, { aPeer: { ttlSecurityHops: 1, password: 'both' }, bPeer: { ttlSecurityHops: 1, password: 'both' } });
    p.pb.start();
    p.pa.start();
    await up(p);
    t.pass();
  });

  t.test('GTSM on the accepted socket: a TTL-64 SYN is reset at accept, before a byte is read or sent', async (t) => {
    // B requires hops 1 (minimum TTL 255), A connects with the default TTL 64.
    const p = await pair(t, { bPeer: { ttlSecurityHops: 1 } });
    p.pb.start();
    p.pa.start();
    await waitFor(() => p.b.mgr.gtsmRefused >= 1, 'B refused the connection at accept');
    await sleep(QUIET_MS);
    const warn = p.b.log.lines.find((l) => l.level === 'warn' && l.msg.includes('ttl-security'));
    t.match(warn?.fields, { peer: '127.0.0.1', ttl: 64, minTtl: 255 }, 'logged with the TTL seen and the minimum');
    t.equal(p.b.mgr.refused, 0, 'not counted as an unconfigured address');
    t.equal(p.pb.counters.messagesIn.open, 0, "A's OPEN was never read");
    t.equal(p.pb.counters.messagesOut.open, 0, 'B sent nothing');
    t.equal(p.pa.counters.messagesIn.open, 0);
    t.equal(p.pb.state, 'Active', "B's session is untouched");
    t.match(p.pa.status().lastError, /reset by peer/, 'A saw a reset');
  });

  t.test('GTSM on the outgoing socket: set before the SYN, a TTL-64 SYN-ACK is dropped', async (t) => {
    // A requires hops 1 and connects; B (no GTSM) answers with TTL 64.
    const p = await pair(t, { aPeer: { ttlSecurityHops: 1 } });
    p.pb.start();
    p.pa.start();
    await sleep(QUIET_MS);
    t.equal(p.pa.state, 'Connect', 'the SYN-ACK never passed');
    t.equal(p.pb.counters.messagesIn.open, 0);
  });
}

t.test('config -> session options: password and ttl-security reach the peer, mesh password too', async (t) => {
  const { loadConfig } = await import('../../config/load.js');
  const { neighbors } = await import('../../config/neighbors.js');
  const { peerOptionsFor } = await import('../../src/peers.js');
  const yaml = [
    'router-id: 10.0.0.1',
    'asn: 65000',
    'node-address: 10.0.0.1/24',
    'mesh: { enabled: true, password: meshkey, nodes: [10.0.0.2] }',
    'peers:',
    '  - { address: 10.0.0.9, asn: 65009, password: "s3cret", ttl-security: 2 }',
    '  - { address: 10.0.0.8, asn: 65008 }',
  ].join('\n');
  const r = loadConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const opts = new Map(neighbors(r.config).map((n) => [n.address, peerOptionsFor(r.config, n, { restarting: false })]));
  t.equal(opts.get('10.0.0.9')?.password, 's3cret');
  t.equal(opts.get('10.0.0.9')?.ttlSecurityHops, 2);
  t.notOk(opts.has('10.0.0.8') && 'password' in (opts.get('10.0.0.8') ?? {}), 'no password key for a plain peer');
  t.equal(opts.get('10.0.0.8')?.ttlSecurityHops, undefined);
  t.equal(opts.get('10.0.0.2')?.password, 'meshkey', 'mesh peers get mesh.password');
  t.equal(needsNativeConnect(opts.get('10.0.0.8') ?? {}), false);
  t.equal(needsNativeConnect(opts.get('10.0.0.9') ?? {}), true);
});

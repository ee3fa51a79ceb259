// Fault: the node's IPv6 address (node-address-v6) removed from its interface and added back
// (issue #9), the IPv6 counterpart of address-fault.test.ts.
//
// Three nodes on one segment (eth0: 10.31.0.x/24 and fd00:31::x/64), AS 64512, dual stack with
// one session per family: w1 (wren under test, listening on its node addresses as Calico's
// bindMode NodeIP does), w2 (wren), b (BIRD 2 with a kernel protocol). IPv4 as in the IPv4 test:
// a CrossSubnet pool (direct `via X dev eth0`) and an IPIP Always pool (`via X dev tunl0
// onlink`). IPv6: one pool, never tunnelled: a learnt IPv6 block is `via X`, the kernel finds the
// device.
//
// An IPv6 update cannot reach w1 over a session carried by the address that is gone, so b also
// has a second link to w1 (eth1, fd00:41::/64) and its IPv6 session with w1 runs there; b is the
// route reflector of both wrens for IPv6. A block that w2 adds during the outage reaches w1
// through b with its next hop unchanged (fd00:31::2, on the vanished subnet): a new kernel write
// that needs the address, as a route reflector or a ToR session on another interface would bring.
//
// What the kernel does when eth0 loses its global IPv6 address (and keeps its link-local one):
// it deletes only the address's own `local` route and the subnet's prefix route (proto kernel);
// every route of ours through a gateway on that subnet stays (`ip route get` still picks it: its
// nexthop was bound to eth0 when it was written), without a notification; the flush that IPv4
// does never happens. But a new write through such a gateway (add or replace) fails with "No route
// to host" (EHOSTUNREACH): without the prefix route the gateway cannot be resolved. Established TCP connections from the
// address stall (no route to the peer, and packets to the address are not delivered); listening
// sockets bound to it stay bound.
//
// What wren must do, and this test asserts:
// - short outage (2 s, inside the hold time): no IPv6 route of ours moves (the address
//   notification's scan finds them in place); the new block's write fails with the kernel's text,
//   `bgpctl show kernel` says so and wren keeps running; on the address notification the write is
//   retried at once and succeeds; no session moves (the stalled TCP retransmits in time);
// - long outage (13 s, past the 9 s hold time): the same for a second new block, and the IPv6
//   session w1-w2 on eth0 drops on the hold timer while every other session stays up. w2's blocks
//   stay in w1's kernel untouched (b's reflected path has the same next hop, so no write is
//   needed) and w1's stay in the others'. The address comes back the way a real one does, through
//   duplicate address detection: the kernel announces it tentative at once, and the prefix route
//   with it, so the write is retried at once and succeeds (its back-off would be seconds away);
//   the session waits for DAD to end (a tentative address neither sends nor receives), then w2
//   connects again through w1's listener bound to the address, and `ip -6 route` is exactly the
//   expected final state on every node;
// - IPv4: no route event and no session change on any node, throughout.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Bird2Speaker, WrenSpeaker, labFor, requireLab } from '../lab/lib/index.js';
import type { Host } from '../lab/lib/index.js';
import type { KernelRouteStatus } from '../../src/status.js';
import { allEstablished, ctlKernel, ctlNeighbors, sleep, until } from './lib/wren-proc.js';

const AS = 64512;
const HOLD = 9;
const KEEPALIVE = 3;
const W1 = '10.31.0.1';
const W2 = '10.31.0.2';
const B = '10.31.0.3';
const W1_6 = 'fd00:31::1';
const W2_6 = 'fd00:31::2';
const B_6 = 'fd00:31::3';
/** The second link, w1 eth1 - b eth1: carries the IPv6 session w1-b. */
const W1_L = 'fd00:41::1';
const B_L = 'fd00:41::3';
const XPOOL = '172.22.0.0/16';
const IPOOL = '172.23.0.0/16';
const POOL6 = 'fd00:172:22::/112';
const BLOCKS = {
  w1: ['172.22.1.0/26', '172.23.1.0/26', 'fd00:172:22::/122'],
  w2: ['172.22.2.0/26', '172.23.2.0/26', 'fd00:172:22::40/122'],
  b: ['172.22.3.0/26', '172.23.3.0/26', 'fd00:172:22::80/122'],
} as const;
/** Blocks w2 adds while w1's address is gone, one per outage. */
const NEW1 = 'fd00:172:22::c0/122';
const NEW2 = 'fd00:172:22::100/122';

const v6Line = (prefix: string, via: string, dev: string): string => `${prefix} via ${via} dev ${dev} proto bird metric 1024 pref medium`;
/** BIRD's kernel protocol installs with its default metric, 32. */
const birdV6Line = (prefix: string, via: string): string => `${prefix} via ${via} dev eth0 proto bird metric 32 pref medium`;
const blackhole6 = (prefix: string): string => `blackhole ${prefix} dev lo proto bird metric 1024 pref medium`;

/** `ip -6 route` (proto bird) per node once converged, before the faults. */
const V6_BEFORE = {
  w1: [blackhole6('fd00:172:22::/122'), v6Line('fd00:172:22::40/122', W2_6, 'eth0'), v6Line('fd00:172:22::80/122', B_L, 'eth1')],
  w2: [v6Line('fd00:172:22::/122', W1_6, 'eth0'), blackhole6('fd00:172:22::40/122'), v6Line('fd00:172:22::80/122', B_6, 'eth0')],
  b: [birdV6Line('fd00:172:22::/122', W1_6), birdV6Line('fd00:172:22::40/122', W2_6)],
};
/** The lines each new block of w2 adds, per node. */
const v6Added = (prefix: string): { w1: string[]; w2: string[]; b: string[] } => ({
  w1: [v6Line(prefix, W2_6, 'eth0')],
  w2: [blackhole6(prefix)],
  b: [birdV6Line(prefix, W2_6)],
});

function wrenNode(
  host: Host,
  self: { v4: string; v6: string },
  blocks: readonly string[],
  peers: readonly { address: string; passive: boolean; source?: string }[],
  listen: string,
): WrenSpeaker {
  return new WrenSpeaker(
    host,
    { routerId: self.v4, localAs: AS, neighbors: [], originate: [...blocks] },
    {
      nodeAddress: `${self.v4}/24`,
      nodeAddressV6: `${self.v6}/64`,
      logLevel: 'info',
      extra: {
        listen: { address: listen, port: 179 },
        timers: { 'connect-retry': 1, 'connect-delay': 0, 'error-wait': { min: 1, max: 2 } },
        'graceful-restart': { enabled: true, 'restart-time': 10, wait: 10 },
        kernel: { program: true, persist: true, 'tunnel-device': 'tunl0', device: 'eth0' },
        pools: [
          { cidr: XPOOL, 'ipip-mode': 'CrossSubnet', 'vxlan-mode': 'Never' },
          { cidr: IPOOL, 'ipip-mode': 'Always', 'vxlan-mode': 'Never' },
          { cidr: POOL6, 'ipip-mode': 'Never', 'vxlan-mode': 'Never' },
        ],
        peers: peers.map((p) => ({
          address: p.address,
          asn: AS,
          passive: p.passive,
          hold: HOLD,
          keepalive: KEEPALIVE,
          ...(p.source === undefined ? {} : { 'source-address': p.source }),
        })),
      },
    },
  );
}

function birdLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => / proto bird( |$)/.test(l));
}

/** `ip route` order for the IPv6 lines above: by prefix, as the kernel lists them. */
const sorted6 = (lines: readonly string[]): string[] => {
  const key = (l: string): string => {
    const p = l.replace(/^blackhole /, '').split(' ')[0] ?? '';
    const [addr = ''] = p.split('/');
    const half = addr.split('::');
    const head = (half[0] ?? '').split(':').filter((x) => x !== '');
    const tail = half.length > 1 ? (half[1] ?? '').split(':').filter((x) => x !== '') : [];
    const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    return groups.map((g) => g.padStart(4, '0')).join(':');
  };
  return [...lines].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
};

if (await requireLab(t, ['bird2'])) {
  t.test('node IPv6 address removed and re-added', async (t) => {
    const lab = await labFor(t);
    const seg = await lab.addSegment('seg');
    const h1 = await lab.addHost('w1');
    const h2 = await lab.addHost('w2');
    const hb = await lab.addHost('b');
    await seg.attach(h1, { addrs: [`${W1}/24`, `${W1_6}/64`], ifName: 'eth0' });
    await seg.attach(h2, { addrs: [`${W2}/24`, `${W2_6}/64`], ifName: 'eth0' });
    await seg.attach(hb, { addrs: [`${B}/24`, `${B_6}/64`], ifName: 'eth0' });
    await lab.link(h1, hb, { a: [`${W1_L}/64`], b: [`${B_L}/64`], ifA: 'eth1', ifB: 'eth1' });
    await h1.addTunl0(['172.23.1.1/32']);
    await h2.addTunl0(['172.23.2.1/32']);

    // w1 is passive towards w2 over IPv6: that session can only come (back) up through w1's
    // listener bound to the address the test removes.
    const w1 = wrenNode(
      h1,
      { v4: W1, v6: W1_6 },
      BLOCKS.w1,
      [
        { address: W2, passive: false },
        { address: B, passive: false },
        { address: W2_6, passive: true },
        { address: B_L, passive: false, source: W1_L },
      ],
      W1,
    );
    const w2 = wrenNode(
      h2,
      { v4: W2, v6: W2_6 },
      BLOCKS.w2,
      [
        { address: W1, passive: false },
        { address: B, passive: false },
        { address: W1_6, passive: false },
        { address: B_6, passive: false },
      ],
      '::',
    );
    const nb = { remoteAs: AS, holdTime: HOLD, keepalive: KEEPALIVE, gracefulRestart: true, restartTime: 10 };
    const bird = new Bird2Speaker(hb, {
      routerId: B,
      localAs: AS,
      kernel: true,
      originate: [...BLOCKS.b],
      neighbors: [
        { address: W1, ...nb },
        { address: W2, ...nb },
        { address: W1_L, localAddress: B_L, routeReflectorClient: true, ...nb },
        { address: W2_6, localAddress: B_6, routeReflectorClient: true, ...nb },
      ],
    });
    await Promise.all([w1.start(), w2.start(), bird.start()]);

    const hosts = [h1, h2, hb];
    const snapshot = async (family: 4 | 6): Promise<string[][]> => Promise.all(hosts.map(async (h) => birdLines(await h.routes(family))));
    const expected6 = (added: readonly string[]): string[][] =>
      (['w1', 'w2', 'b'] as const).map((n) => sorted6([...V6_BEFORE[n], ...added.flatMap((p) => v6Added(p)[n])]));
    await until(async () => ((await allEstablished(w1.socket)) !== undefined && (await allEstablished(w2.socket)) !== undefined ? true : undefined), 60_000, 'every session Established');
    const want0 = expected6([]);
    await until(async () => (JSON.stringify(await snapshot(6)) === JSON.stringify(want0) ? true : undefined), 60_000, 'every node: IPv6 routes converged');
    // IPv4: w1 and w2 hold their 2 blackholes and the 4 routes of the others; b the 4 it exports.
    await until(async () => ((await snapshot(4)).map((s) => s.length).join() === '6,6,4' ? true : undefined), 60_000, 'every node: IPv4 routes converged');
    t.same(await snapshot(6), want0, '`ip -6 route` before: blackhole of the own block, `via` the owner for the others (w1 reaches b over eth1)');
    const before4 = await snapshot(4);
    t.comment(`IPv4 before: ${JSON.stringify(before4)}`);
    const v4Since = async (w: WrenSpeaker): Promise<string> =>
      JSON.stringify((await ctlNeighbors(w.socket)).filter((n) => n.afi === 'ipv4').map((n) => [n.address, n.state, n.sinceMs]));
    const v4SinceBefore = [await v4Since(w1), await v4Since(w2)];
    const pid = w1.process?.pid;

    const mon6 = hosts.map((h) => h.spawn('ip', ['-6', 'monitor', 'route'], { name: `monitor6-${h.name}` }));
    const mon4 = hosts.map((h) => h.spawn('ip', ['-4', 'monitor', 'route'], { name: `monitor4-${h.name}` }));
    await sleep(500);
    const lines = (m: { stdoutPath: string }): string[] => readFileSync(m.stdoutPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const logMark = (): number => w1.logs().length;
    const restoreAddress = async (): Promise<void> => {
      await h1.ip(['-6', 'addr', 'replace', `${W1_6}/64`, 'dev', 'eth0', 'nodad']);
    };
    const removeAddress = async (t: Test): Promise<number> => {
      await h1.ip(['-6', 'addr', 'del', `${W1_6}/64`, 'dev', 'eth0']);
      const gone = Date.now();
      const left = await h1.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0']);
      t.match(left.stdout, /inet6 fe80::\S+ scope link/, 'eth0 keeps its link-local address');
      t.notMatch(left.stdout, /fd00:31::1/, 'and has no global one');
      return gone;
    };
    /** The new block's entry in `show kernel`, once its write has failed. */
    const failedEntry = async (prefix: string): Promise<KernelRouteStatus> =>
      until(
        async () => (await ctlKernel(w1.socket)).find((e) => e.prefix === prefix && e.state === 'failed'),
        10_000,
        `show kernel: ${prefix} failed`,
        50,
      );
    const w1Has = async (line: string): Promise<boolean> => birdLines(await h1.routes(6)).includes(line);

    // --- 1. a short outage: 2 s, well inside the 9 s hold time --------------------------------
    await t.test('short outage (2 s, inside the hold time): a new IPv6 route while the address is gone', async (t) => {
      t.teardown(restoreAddress);
      const since = await allEstablished(w1.socket);
      const mark = logMark();
      const m6 = lines(mon6[0]!).length;
      const gone = await removeAddress(t);
      t.same(birdLines(await h1.routes(6)), want0[0], 'the kernel kept every IPv6 route of ours, those via fd00:31::2 on eth0 too');
      const get = await h1.exec('ip', ['-6', 'route', 'get', 'fd00:172:22::41']);
      t.match(get.stdout, /via fd00:31::2 dev eth0 proto bird/, `and still uses them: ${get.stdout.trim()}`);
      await until(async () => (/kernel address removed/.test(w1.logs().slice(mark)) ? true : undefined), 5000, 'wren: the address removal seen', 50);
      t.pass(`wren saw the removal ${Date.now() - gone} ms after it (RTM_DELADDR)`);

      await w2.announce(NEW1);
      const e = await failedEntry(NEW1);
      const failedMs = Date.now() - gone;
      t.match(e.error ?? '', /no route to host/i, `show kernel: ${NEW1} failed with the kernel's text (${e.error ?? ''})`);
      t.match(e.desired ?? '', new RegExp(`via ${W2_6}`), `desired: via w2 (${e.desired ?? ''}), learnt from b (reflected) while the session with w2 stalls`);
      t.equal(e.installed, null, 'nothing installed for it');
      t.notOk(await w1Has(v6Added(NEW1).w1[0]!), 'not in the kernel');
      t.ok(w1.process?.running === true && w1.process.pid === pid, 'wren still running (same process)');
      const others = (await ctlKernel(w1.socket)).filter((x) => x.prefix !== NEW1 && x.state !== 'in-sync');
      t.same(others, [], 'every other route of w1 in sync (the scan after the removal found them in place)');
      t.comment(`${NEW1} reported failed ${failedMs} ms after the address went`);
      await sleep(Math.max(0, 2000 - (Date.now() - gone)));

      await h1.ip(['-6', 'addr', 'add', `${W1_6}/64`, 'dev', 'eth0', 'nodad']);
      const back = Date.now();
      const outage = back - gone;
      await until(async () => ((await w1Has(v6Added(NEW1).w1[0]!)) ? true : undefined), 10_000, `${NEW1} in w1's kernel`, 50);
      const restoredMs = Date.now() - back;
      t.ok(restoredMs < 3000, `wren installed ${NEW1} ${restoredMs} ms after the address came back`);
      const logs = w1.logs().slice(mark);
      t.match(logs, /kernel address removed/, 'logged: the address removal');
      t.match(logs, /no route to host[^\n]*kernel write failed/i, "logged: the failed write with the kernel's text");
      t.match(logs, /kernel address added: retrying failed route writes now/, 'logged: the address back, failed writes retried now');
      t.match(logs, /kernel write recovered/, 'logged: the write recovered');

      // Give the stalled TCP connections time to retransmit, then compare the sessions.
      await sleep(4000);
      const now = await allEstablished(w1.socket);
      t.ok(now !== undefined, 'w1: every session Established');
      if (outage < 3000) {
        // The peers' keepalives arrive at most ~3 s (interval) + the outage + one TCP retransmission late: inside 9 s.
        t.same(now, since, `no session moved (same since for every neighbour) after a ${outage} ms outage`);
      } else {
        t.comment(`the outage lasted ${outage} ms (a loaded machine): sessions not compared`);
      }
      t.same(await snapshot(6), expected6([NEW1]), '`ip -6 route` on every node: as before plus the new block');
      const ev = lines(mon6[0]!).slice(m6);
      t.comment(`w1 ip -6 monitor route: ${JSON.stringify(ev)}`);
      t.same(
        ev.filter((l) => / proto bird/.test(l)),
        [v6Added(NEW1).w1[0]!.replace(/ +$/, '')],
        'ip monitor route (w1): the only event for a route of ours is the new block added, once',
      );
      t.ok(
        ev.some((l) => /^Deleted fd00:31::\/64 dev eth0 proto kernel/.test(l)),
        "ip monitor route (w1): the removal deleted the subnet's prefix route (proto kernel), nothing else of ours",
      );
    });

    // --- 2. a long outage: 13 s, past the hold time ------------------------------------------
    await t.test('long outage (13 s, past the hold time)', async (t) => {
      t.teardown(restoreAddress);
      const since = await allEstablished(w1.socket);
      if (since === undefined) throw new Error('not every session Established at the start');
      const mark = logMark();
      const m6 = lines(mon6[0]!).length;
      const gone = await removeAddress(t);
      await w2.announce(NEW2);
      const e = await failedEntry(NEW2);
      t.match(e.error ?? '', /no route to host/i, `show kernel: ${NEW2} failed with the kernel's text (${e.error ?? ''})`);

      // Only the session carried by the address ends, on the hold timer (no NOTIFICATION can get through).
      const downAt = await until(
        async () => {
          const ns = await ctlNeighbors(w1.socket);
          return ns.find((n) => n.address === W2_6)?.state !== 'Established' ? Date.now() : undefined;
        },
        HOLD * 1000 + 6000,
        'w1: the IPv6 session with w2 down',
        200,
      );
      t.ok(downAt - gone <= HOLD * 1000 + 3000, `the IPv6 session w1-w2 dropped ${downAt - gone} ms after the address went (hold ${HOLD} s)`);
      t.match(w1.logs().slice(mark), /Hold timer expired|Hold Timer Expired/i, 'logged: the hold timer expiring');
      const ns = await ctlNeighbors(w1.socket);
      for (const a of [W2, B, B_L]) {
        const n = ns.find((x) => x.address === a);
        t.equal(n?.sinceMs, since.get(a), `${a}: still Established, not moved`);
      }
      // w2's blocks come from b too, reflected with the same next hop: no kernel write is needed.
      t.same(birdLines(await h1.routes(6)), expected6([NEW1])[0], "w1's IPv6 routes unchanged: w2's blocks stay via fd00:31::2 (b's path)");
      const entries = await ctlKernel(w1.socket);
      t.same(
        entries.filter((x) => x.prefix !== NEW2 && x.state !== 'in-sync'),
        [],
        'every other route of w1 in sync',
      );
      const ne = entries.find((x) => x.prefix === NEW2);
      t.ok((ne?.retries ?? 0) >= 3, `${NEW2}: retried with back-off meanwhile (${ne?.retries ?? 0} retries)`);
      t.ok(w1.process?.running === true && w1.process.pid === pid, 'wren still running (same process)');
      await sleep(Math.max(0, 13_000 - (Date.now() - gone)));

      // Without nodad, as DHCPv6, SLAAC or a hand `ip addr add` do it.
      await h1.ip(['-6', 'addr', 'add', `${W1_6}/64`, 'dev', 'eth0']);
      const back = Date.now();
      const added = await h1.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
      await until(async () => ((await w1Has(v6Added(NEW2).w1[0]!)) ? true : undefined), 10_000, `${NEW2} in w1's kernel`, 50);
      const restoredMs = Date.now() - back;
      // By now the back-off is several seconds long: only the address notification explains this.
      t.ok(restoredMs < 3000, `wren installed ${NEW2} ${restoredMs} ms after the address came back`);
      const dadDone = await until(
        async () => (/tentative/.test((await h1.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'])).stdout) ? undefined : Date.now()),
        10_000,
        'DAD over',
        50,
      );
      t.comment(`address re-added ${/tentative/.test(added.stdout) ? 'tentative' : 'not tentative'}; DAD over ${dadDone - back} ms later`);
      const logs = w1.logs().slice(mark);
      t.match(logs, /kernel address added: retrying failed route writes now/, 'logged: the address back, failed writes retried now');
      await until(async () => ((await allEstablished(w1.socket)) !== undefined ? true : undefined), 60_000, 'w1: every session Established again', 100);
      t.pass(`the IPv6 session w1-w2 Established again ${Date.now() - back} ms after the address came back`);
      const ss = await h1.exec('ss', ['-tnH', 'state', 'established', '( sport = :179 or dport = :179 )']);
      t.match(ss.stdout, /\[fd00:31::1\]:179\s+\[fd00:31::2\]:\d+/, "w2 connected in to w1's listener on fd00:31::1, bound since the start");
      t.equal((await w2.peerState(W1_6)).state, 'Established', 'w2: IPv6 session with w1 Established');
      const want = expected6([NEW1, NEW2]);
      await until(async () => (JSON.stringify(await snapshot(6)) === JSON.stringify(want) ? true : undefined), 30_000, '`ip -6 route` final on every node', 100);
      await sleep(2000);
      t.same(await snapshot(6), want, '`ip -6 route` (proto bird) on every node: exactly the expected final state');
      const ev = lines(mon6[0]!).slice(m6);
      t.comment(`w1 ip -6 monitor route: ${JSON.stringify(ev)}`);
      t.same(
        ev.filter((l) => / proto bird/.test(l)),
        [v6Added(NEW2).w1[0]!],
        'ip monitor route (w1): the only event for a route of ours is the new block added, once',
      );
      for (const [i, m] of mon6.entries()) {
        if (i === 0) continue;
        const other = lines(m).filter((l) => / proto bird/.test(l) && !l.includes(NEW1.split('/')[0]!) && !l.includes(NEW2.split('/')[0]!));
        t.same(other, [], `ip monitor route (${hosts[i]!.name}): no event for the routes that were there before`);
      }
    });

    t.test('IPv4 untouched throughout', async (t) => {
      t.same(await snapshot(4), before4, '`ip route` (proto bird) is what it was on every node');
      t.same([await v4Since(w1), await v4Since(w2)], v4SinceBefore, 'no IPv4 session moved on w1 or w2');
      for (const [i, m] of mon4.entries()) t.same(lines(m), [], `ip -4 monitor route (${hosts[i]!.name}): no event at all`);
      t.equal((await bird.peerState(W1)).state, 'Established', 'BIRD: IPv4 session with w1 Established');
    });
  });
}

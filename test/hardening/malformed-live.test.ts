// Live malformed input: every row of the codec's malformed table (test/fixtures/update/malformed.json)
// and the CVE-class inputs of landscape.md §5.1 the table does not hold, sent by a raw peer over a
// real session into wren (in a namespace, kernel programming on) while wren also has a healthy
// eBGP session with BIRD 2. For each input, what the raw peer receives on the wire is checked:
// - a session-reset row: exactly the table's NOTIFICATION (code, subcode, data), then the close;
//   the peer's routes leave wren's RIB; the raw peer reconnects through wren's error-wait (1 s);
// - an RFC 7606 AFI/SAFI-disable row: wren runs one family per session, so it resets with the
//   error's own NOTIFICATION (3/9 + the attribute as data);
// - a treat-as-withdraw row: no NOTIFICATION, the session stays up, the UPDATE's prefixes are
//   withdrawn from wren's RIB while another prefix of the same peer stays;
// - an accepted row (clean, or attribute discard): the prefixes it announces are in wren's RIB.
// Throughout, the BIRD session never flaps and BIRD's route stays in wren's kernel unchanged.
import t from 'tap';
import { Buffer } from 'node:buffer';
import { labFor, requireLab } from '../lab/lib/index.js';
import { loadMalformed, expandHex } from '../proto/fuzz.js';
import type { MalformedRow } from '../proto/fuzz.js';
import { decodeUpdate } from '../../proto/update.js';
import { decodeMessage } from '../../proto/messages.js';
import { isBgpError } from '../../proto/errors.js';
import { formatPrefix } from '../../proto/prefix.js';
import type { CodecContext, PathAttributes } from '../../proto/types.js';
import { RawBgp } from './lib/raw-bgp.js';
import { BIRD_ADDR, BIRD_PREFIX, RAW_ADDR, RAW_AS, WREN_B, birdUntouched, buildHardLab, kernelLine, rawSession } from './lib/topo.js';
import type { HardLab } from './lib/topo.js';
import { pathsFrom, sleep, until } from './lib/wren-proc.js';

const CANARY = '198.51.100.0/24';
const BYSTANDER = '203.0.113.0/24';
const ATTRS: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [RAW_AS] }], nextHop: 0xc0000201 };

interface Expect {
  readonly kind: 'notification' | 'withdraw' | 'accept';
  readonly code?: number;
  readonly subcode?: number;
  readonly data?: string;
}

function ctxOf(r: MalformedRow): CodecContext {
  return { fourOctetAs: r.ctx.fourOctetAs, extendedMessage: r.ctx.extendedMessage ?? false, addPath: new Set(r.ctx.addPath ?? []) };
}

function expectationOf(r: MalformedRow, frame: Buffer): Expect {
  if ((r.ctx.extendedMessage ?? false) && frame.length > 4096) {
    // wren does not advertise RFC 8654 Extended Message: over 4096 octets is a header error whose
    // Data is the erroneous Length field (RFC 4271 §6.1).
    return { kind: 'notification', code: 1, subcode: 2, data: frame.subarray(16, 18).toString('hex') };
  }
  const th = r.expect.throws;
  if (th !== undefined) return { kind: 'notification', code: th.code, subcode: th.subcode, data: th.dataHex };
  const o = r.expect.outcome!;
  if (o.disableFamilies.length > 0) {
    const e = o.errors.find((x) => x.disposition === 'afisafi-disable')!;
    return { kind: 'notification', code: e.code, subcode: e.subcode, data: e.dataHex };
  }
  return { kind: o.treatAsWithdraw ? 'withdraw' : 'accept' };
}

/** IPv4 prefixes the UPDATE carries in its NLRI field (wren's sessions are IPv4 unicast). */
function nlriOf(frame: Buffer, ctx: CodecContext): string[] {
  try {
    const m = decodeUpdate(frame, ctx).message;
    const mp = m.mpReach !== undefined && m.mpReach.afi === 1 && m.mpReach.safi === 1 ? m.mpReach.nlri : [];
    return [...m.nlri, ...mp].map((p) => formatPrefix(p));
  } catch {
    return [];
  }
}

const present = async (h: HardLab, prefix: string): Promise<boolean> => (await pathsFrom(h.wren.socket, prefix, RAW_ADDR)).length > 0;

if (await requireLab(t, ['bird2'])) {
  t.test('malformed table and CVE-class inputs on a live session', async (t) => {
    const lab = await labFor(t);
    const h = await buildHardLab(lab);
    t.ok(h.birdKernelLine.includes(`via ${BIRD_ADDR}`), `BIRD's route programmed: ${h.birdKernelLine}`);
    const rows = loadMalformed();
    let conn: RawBgp | null = null;
    let connCtx = '';
    const counts = { notification: 0, withdraw: 0, accept: 0, reconnects: 0 };
    const ensure = async (ctx: CodecContext): Promise<RawBgp> => {
      const key = JSON.stringify([ctx.fourOctetAs, [...ctx.addPath]]);
      if (conn !== null && conn.isOpen && connCtx === key && conn.notifications().length === 0) return conn;
      if (conn !== null) await conn.end(2000);
      // wren must have dropped the old session's routes before the next one starts.
      await until(async () => (!(await present(h, BYSTANDER)) ? true : undefined), 30_000, 'old session routes gone');
      conn = await rawSession(h, { fourOctetAs: ctx.fourOctetAs, addPath: [...ctx.addPath] });
      connCtx = key;
      counts.reconnects++;
      await conn.writeDrained(conn.announce([BYSTANDER], ATTRS));
      await until(async () => ((await present(h, BYSTANDER)) ? true : undefined), 30_000, 'bystander route');
      return conn;
    };

    for (const r of rows) {
      const frame = expandHex(r.hex);
      const ctx = ctxOf(r);
      const want = expectationOf(r, frame);
      counts[want.kind]++;
      await t.test(`${r.name} -> ${want.kind}${want.code === undefined ? '' : ` ${want.code}/${want.subcode}`}`, async (t) => {
        const c = await ensure(ctx);
        const nlri = nlriOf(frame, ctx);
        // Treat-as-withdraw covers the UPDATE's own prefixes; with none of IPv4 (an IPv6 MP_REACH on
        // this IPv4 session) the canary must simply stay.
        const targets = [...new Set(nlri.length > 0 ? [CANARY, ...nlri] : [])];
        if (want.kind === 'withdraw') {
          const ann = targets.length > 0 ? targets : [CANARY];
          await c.writeDrained(c.announce(ann, ATTRS));
          await until(async () => ((await Promise.all(ann.map((p) => present(h, p)))).every(Boolean) ? true : undefined), 30_000, 'canary announced');
        } else if (want.kind === 'accept' && nlri.length > 0) {
          await c.writeDrained(c.withdraw(nlri));
          await until(async () => ((await Promise.all(nlri.map((p) => present(h, p)))).some(Boolean) ? undefined : true), 30_000, 'row prefixes withdrawn first');
        } else if (want.kind === 'notification') {
          await c.writeDrained(c.announce([CANARY], ATTRS));
          await until(async () => ((await present(h, CANARY)) ? true : undefined), 30_000, 'canary announced');
        }
        const mark = c.received.length;
        await c.writeDrained(frame);
        if (want.kind === 'notification') {
          const n = await c.waitFor(() => c.notifications(mark)[0], 30_000, 'NOTIFICATION');
          t.same({ code: n.code, subcode: n.subcode, data: n.data }, { code: want.code, subcode: want.subcode, data: want.data }, 'NOTIFICATION on the wire: code, subcode, data');
          await Promise.race([c.closed, sleep(5000)]);
          t.notOk(c.isOpen, 'wren closed the connection');
          await until(async () => (!(await present(h, CANARY)) && !(await present(h, BYSTANDER)) ? true : undefined), 30_000, "the reset peer's routes withdrawn");
          t.pass("the peer's routes left wren's RIB");
        } else if (want.kind === 'withdraw' && targets.length === 0) {
          await sleep(300);
          t.ok(await present(h, CANARY), 'no IPv4 prefix in the UPDATE: the canary stays');
          t.same(c.notifications(mark), [], 'no NOTIFICATION');
          t.ok(c.isOpen, 'session stays up');
        } else if (want.kind === 'withdraw') {
          await until(async () => ((await Promise.all(targets.map((p) => present(h, p)))).some(Boolean) ? undefined : true), 30_000, 'treat-as-withdraw');
          t.pass(`treat-as-withdraw: ${targets.join(' ')} withdrawn`);
          t.ok(await present(h, BYSTANDER), 'the peer\'s other prefix stays');
          await sleep(200);
          t.same(c.notifications(mark), [], 'no NOTIFICATION');
          t.ok(c.isOpen, 'session stays up');
        } else {
          if (nlri.length > 0) {
            await until(async () => ((await Promise.all(nlri.map((p) => present(h, p)))).every(Boolean) ? true : undefined), 30_000, 'accepted prefixes');
            t.pass(`accepted: ${nlri.join(' ')} in wren's RIB`);
          } else {
            await sleep(300);
          }
          t.ok(await present(h, BYSTANDER), 'the peer\'s other prefix stays');
          t.same(c.notifications(mark), [], 'no NOTIFICATION');
          t.ok(c.isOpen, 'session stays up');
        }
      });
    }
    t.comment(`rows: ${rows.length}; ${JSON.stringify(counts)}`);

    // --- §5.1 inputs not in the UPDATE table -------------------------------------------------
    const ctx4: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
    /** What the codec says about a whole message (the wire must agree). */
    const codecError = (frame: Buffer): { code: number; subcode: number; data: string } => {
      try {
        decodeMessage(frame, ctx4);
      } catch (e) {
        if (isBgpError(e)) return { code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') };
      }
      throw new Error('the codec accepts this message');
    };
    const header = (len: number, type: number): string => 'ff'.repeat(16) + len.toString(16).padStart(4, '0') + type.toString(16).padStart(2, '0');

    await t.test('CVE-2022-40302: OPEN with RFC 9072 extended parameters whose length runs past the OPEN', async (t) => {
      if (conn !== null) await conn.end(2000);
      await until(async () => (!(await present(h, BYSTANDER)) ? true : undefined), 30_000, 'old session gone');
      // version 4, AS 65001, hold 30, id 192.0.2.1, Non-Ext OP Len 255, Non-Ext OP Type 255, then 1 octet.
      const body = '04' + 'fde9' + '001e' + 'c0000201' + 'ff' + 'ff' + '00';
      const open = Buffer.from(header(19 + body.length / 2, 1) + body, 'hex');
      const want = codecError(open);
      t.equal(want.code, 2, `the codec calls it an OPEN error (${want.code}/${want.subcode})`);
      const c = await until(async () => RawBgp.inNamespace(h.r.ns, { host: '192.0.2.2', port: 179, localAddress: RAW_ADDR }), 30_000, 'connect');
      c.write(open);
      const n = await c.waitFor(() => c.notifications()[0], 30_000, 'NOTIFICATION');
      t.same({ code: n.code, subcode: n.subcode, data: n.data }, want, 'NOTIFICATION on the wire');
      c.destroy();
    });

    await t.test('FRR b685ab5e1b / 5d7af51c4f: FQDN and software-version capabilities with off-by-one lengths', async (t) => {
      // FQDN (73): hostname length 10 but 3 octets follow; software version (75): length 20, 2 octets.
      const c = await rawSession(h, {
        extraCaps: [
          { type: 'unknown', code: 75, value: Uint8Array.from([20, 0x61, 0x62]) },
        ],
      }).catch((e: unknown) => e);
      t.ok(c instanceof RawBgp, `software-version capability with a bad inner length is ignored (unknown capability): ${c instanceof RawBgp ? 'Established' : String(c)}`);
      if (c instanceof RawBgp) await c.end(2000);
      await until(async () => ((await birdUntouched(h)).state === 'Established' ? true : undefined), 10_000, 'BIRD');
      // FQDN with a hostname length past the capability: the codec's verdict is what wren must send.
      const caps = '02' + '07' + '49' + '05' + '0a' + '616263' + '00'; // param 2 (caps), len 7: cap 73 len 5: hostlen 10, "abc", domlen 0
      const mp = '02' + '06' + '01' + '04' + '00010001';
      const as4 = '02' + '06' + '41' + '04' + '0000fde9';
      const params = mp + as4 + caps;
      const body = '04' + 'fde9' + '001e' + 'c0000201' + (params.length / 2).toString(16).padStart(2, '0') + params;
      const open = Buffer.from(header(19 + body.length / 2, 1) + body, 'hex');
      let want: { code: number; subcode: number; data: string } | null = null;
      try {
        want = codecError(open);
      } catch {
        want = null;
      }
      const c2 = await until(async () => RawBgp.inNamespace(h.r.ns, { host: '192.0.2.2', port: 179, localAddress: RAW_ADDR }), 30_000, 'connect');
      c2.write(open);
      if (want !== null) {
        const n = await c2.waitFor(() => c2.notifications()[0], 30_000, 'NOTIFICATION');
        t.same({ code: n.code, subcode: n.subcode, data: n.data }, want, `malformed FQDN capability: the codec's ${want.code}/${want.subcode} on the wire`);
      } else {
        await c2.waitFor(() => (c2.received.some((m) => m.type === 1) ? true : undefined), 30_000, 'OPEN');
        t.same(c2.notifications(), [], 'malformed FQDN capability tolerated: OPEN, no NOTIFICATION');
      }
      c2.destroy();
    });

    await t.test('frr#22828: ROUTE-REFRESH carrying a (malformed) prefix-list ORF', async (t) => {
      await until(async () => (!(await present(h, BYSTANDER)) ? true : undefined), 30_000, 'old session gone');
      const c = await rawSession(h);
      // AFI 1, reserved/when-to-refresh 1 (immediate), SAFI 1, ORF type 64 (prefix list), length 0x0fff (runs past).
      const body = '0001' + '00' + '01' + '01' + '40' + '0fff' + '00';
      const rr = Buffer.from(header(19 + body.length / 2, 5) + body, 'hex');
      const want = codecError(rr);
      c.write(rr);
      const n = await c.waitFor(() => c.notifications()[0], 30_000, 'NOTIFICATION');
      t.same({ code: n.code, subcode: n.subcode, data: n.data }, want, `ROUTE-REFRESH Message Error ${want.code}/${want.subcode} with the message as data (RFC 7313 §5)`);
      t.equal(want.code, 7, 'code 7 ROUTE-REFRESH Message Error');
    });

    await t.test('INEX/BIRD: OTC (attr 35) with length 1024 passes through wren; the BIRD session survives', async (t) => {
      const c = await rawSession(h);
      const otc = { flags: 0xd0, typeCode: 35, value: Uint8Array.from(Buffer.alloc(1024, 0xab)) };
      await c.writeDrained(c.announce([CANARY], { ...ATTRS, unknown: [otc] }));
      await until(async () => ((await present(h, CANARY)) ? true : undefined), 30_000, 'OTC route in wren');
      t.pass('wren accepted the route (OTC is an unknown optional transitive attribute to wren)');
      await sleep(3000);
      const b = await birdUntouched(h);
      t.equal(b.state, 'Established', 'BIRD session up after wren forwarded it');
      t.ok(b.since, 'and never flapped');
      await c.end(2000);
    });

    await t.test('CVE-2026-49943 class: AS_PATH of 1000 ASNs', async (t) => {
      await until(async () => (!(await present(h, CANARY)) ? true : undefined), 30_000, 'old session gone');
      const c = await rawSession(h);
      const asns = [RAW_AS, ...Array.from({ length: 999 }, (_, i) => 100000 + i)];
      const segs = [];
      for (let i = 0; i < asns.length; i += 255) segs.push({ type: 2 as const, asns: asns.slice(i, i + 255) });
      await c.writeDrained(c.announce([CANARY], { ...ATTRS, asPath: segs }));
      await until(async () => ((await present(h, CANARY)) ? true : undefined), 30_000, 'long-path route in wren');
      t.pass('accepted');
      await sleep(3000);
      const b = await birdUntouched(h);
      t.equal(b.state, 'Established', 'BIRD session up');
      t.ok(b.since, 'never flapped');
      await c.end(2000);
    });

    await t.test('header errors: bad marker, bad type, KEEPALIVE of 20 octets', async (t) => {
      const cases: [string, Buffer][] = [
        ['marker', Buffer.from('ff'.repeat(15) + 'fe' + '0013' + '04', 'hex')],
        ['type 9', Buffer.from(header(19, 9), 'hex')],
        ['KEEPALIVE length 20', Buffer.from(header(20, 4) + '00', 'hex')],
      ];
      for (const [name, frame] of cases) {
        await until(async () => (!(await present(h, CANARY)) ? true : undefined), 30_000, 'old session gone');
        const c = await rawSession(h);
        const want = codecError(frame);
        c.write(frame);
        const n = await c.waitFor(() => c.notifications()[0], 30_000, 'NOTIFICATION');
        t.same({ code: n.code, subcode: n.subcode, data: n.data }, want, `${name}: ${want.code}/${want.subcode} data '${want.data}'`);
        c.destroy();
      }
    });

    // --- the other session and the kernel ---------------------------------------------------
    const b = await birdUntouched(h);
    t.equal(b.state, 'Established', 'BIRD session Established after everything');
    t.ok(b.since, 'the BIRD session never flapped (same since)');
    t.ok(b.rib, "BIRD's route still in wren's RIB");
    t.equal(b.kernel, h.birdKernelLine, "BIRD's kernel route untouched");
    // Through bgpctl itself (the operator's view).
    const viaCtl = await h.wren.ctl<{ routes: { prefix: string; peerAddress: string | null }[] }>(['show', 'routes', BIRD_PREFIX]);
    t.ok(viaCtl.routes.some((r) => r.peerAddress === BIRD_ADDR), 'bgpctl show routes --json shows it');
    t.ok((await h.bird.peerState(WREN_B)).state === 'Established', 'BIRD agrees');
    // The kernel follows the RIB for the raw peer's prefix too.
    const k = await kernelLine(h.w, CANARY);
    t.equal(k !== '', await present(h, CANARY), `kernel and RIB agree on ${CANARY} ('${k}')`);
    const alive = h.wren.process?.running ?? false;
    t.ok(alive, 'wren still running');
  });
}

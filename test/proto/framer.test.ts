// The Framer cuts a TCP stream into whole messages: every fixture split at every byte, many
// messages per chunk, the header errors raised as soon as 19 octets are in (RFC 4271 §6.1,
// RFC 8654 §4), and its memory and speed behaviour.
import t from 'tap';
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { BgpError } from '../../proto/errors.js';
import { Framer } from '../../proto/framer.js';

const FIXTURES = new URL('../fixtures/messages/', import.meta.url);
function hex(text: string): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}
const fixtures: [string, Buffer][] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.hex'))
  .sort()
  .map((f) => [f.slice(0, -4), hex(readFileSync(new URL(f, FIXTURES), 'utf8'))]);
const all = Buffer.concat(fixtures.map(([, b]) => b));

/** Feed `chunks` in order, draining after each push; returns every frame as hex. */
function frames(framer: Framer, chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    framer.push(c);
    for (let f = framer.next(); f !== null; f = framer.next()) out.push(f.toString('hex'));
  }
  return out;
}

function chunked(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/** A whole message of `length` octets of `type`, body filled with zeros. */
function message(type: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
}

function errorOf(fn: () => unknown): { code: number; subcode: number; data: string } | string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpError) return { code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') };
    return `not a BgpError: ${String(e)}`;
  }
  return 'no error';
}

t.test('every fixture split into two chunks at every byte boundary', async (t) => {
  let checked = 0;
  for (const [name, msg] of fixtures) {
    for (let at = 0; at <= msg.length; at++) {
      const got = frames(new Framer(), [msg.subarray(0, at), msg.subarray(at)]);
      if (got.length !== 1 || got[0] !== msg.toString('hex')) {
        t.fail(`${name} split at ${at}: ${JSON.stringify(got)}`);
        return;
      }
      checked++;
    }
  }
  t.pass(`${fixtures.length} fixtures, ${checked} splits`);
});

t.test('every fixture split at every pair of boundaries (three chunks)', async (t) => {
  for (const [name, msg] of fixtures.filter(([, m]) => m.length <= 120)) {
    for (let a = 0; a <= msg.length; a++) {
      for (let b = a; b <= msg.length; b++) {
        const got = frames(new Framer(), [msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)]);
        if (got.length !== 1 || got[0] !== msg.toString('hex')) {
          t.fail(`${name} split at ${a}/${b}`);
          return;
        }
      }
    }
  }
  t.pass('all three-way splits');
});

t.test('all fixtures back to back, in chunks of every size from 1 to the whole stream', async (t) => {
  const expected = fixtures.map(([, b]) => b.toString('hex'));
  for (let size = 1; size <= all.length; size++) {
    const got = frames(new Framer(), chunked(all, size));
    if (got.join() !== expected.join()) {
      t.fail(`chunk size ${size}`);
      return;
    }
  }
  t.pass(`${fixtures.length} messages, ${all.length} chunk sizes`);
});

t.test('many messages per chunk, repeated: a chunk boundary lands everywhere', async (t) => {
  const stream = Buffer.concat(Array.from({ length: 50 }, () => all));
  const framer = new Framer();
  const got = frames(framer, chunked(stream, 997));
  t.equal(got.length, 50 * fixtures.length);
  t.equal(Buffer.from(got.join(''), 'hex').toString('hex'), stream.toString('hex'), 'octets out equal octets in');
  t.equal(framer.buffered, 0);
});

t.test('frames are zero-copy views when a chunk holds whole messages', async (t) => {
  const chunk = Buffer.concat([fixtures[0]![1], fixtures[1]![1]]);
  const framer = new Framer();
  framer.push(chunk);
  const f = framer.next();
  t.ok(f !== null && f.buffer === chunk.buffer && f.byteOffset === chunk.byteOffset, 'a view of the pushed chunk');
});

t.test('nothing is returned before the whole message is in', async (t) => {
  const msg = fixtures.find(([n]) => n === 'open-bird2')![1];
  const framer = new Framer();
  framer.push(msg.subarray(0, 18));
  t.equal(framer.next(), null, '18 octets: no header yet');
  framer.push(msg.subarray(18, 19));
  t.equal(framer.next(), null, 'header only: header validated, body pending');
  framer.push(msg.subarray(19, msg.length - 1));
  t.equal(framer.next(), null, 'one octet short');
  t.equal(framer.buffered, msg.length - 1);
  framer.push(msg.subarray(msg.length - 1));
  t.equal(framer.next()?.toString('hex'), msg.toString('hex'));
  t.equal(framer.next(), null);
});

/**
 * Header errors with only the 19 header octets pushed: the Framer must not wait for a body that
 * a lying Length announces.
 */
const HEADER_ERRORS: { what: string; header: string; ext: boolean; expected: { code: number; subcode: number; data: string } }[] = [
  { what: 'bad marker: Connection Not Synchronized', header: 'ffffffffffffffffffffffffffffff00' + '001304', ext: false, expected: { code: 1, subcode: 1, data: '' } },
  { what: 'length 18', header: 'ffffffffffffffffffffffffffffffff' + '001204', ext: false, expected: { code: 1, subcode: 2, data: '0012' } },
  { what: 'length 4097 without extended messages', header: 'ffffffffffffffffffffffffffffffff' + '100102', ext: false, expected: { code: 1, subcode: 2, data: '1001' } },
  { what: 'length 65535 without extended messages', header: 'ffffffffffffffffffffffffffffffff' + 'ffff02', ext: false, expected: { code: 1, subcode: 2, data: 'ffff' } },
  { what: 'OPEN of 4097 with extended messages (RFC 8654 §4)', header: 'ffffffffffffffffffffffffffffffff' + '100101', ext: true, expected: { code: 1, subcode: 2, data: '1001' } },
  { what: 'KEEPALIVE of 4097 with extended messages', header: 'ffffffffffffffffffffffffffffffff' + '100104', ext: true, expected: { code: 1, subcode: 2, data: '1001' } },
  { what: 'KEEPALIVE of 23', header: 'ffffffffffffffffffffffffffffffff' + '001704', ext: false, expected: { code: 1, subcode: 2, data: '0017' } },
  { what: 'OPEN of 28', header: 'ffffffffffffffffffffffffffffffff' + '001c01', ext: false, expected: { code: 1, subcode: 2, data: '001c' } },
  { what: 'type 7', header: 'ffffffffffffffffffffffffffffffff' + '001707', ext: false, expected: { code: 1, subcode: 3, data: '07' } },
];

t.test('header errors are raised as soon as the header is complete', async (t) => {
  for (const c of HEADER_ERRORS) {
    const framer = new Framer({ extendedMessage: c.ext });
    framer.push(hex(c.header));
    t.same(errorOf(() => framer.next()), c.expected, c.what);
    t.same(errorOf(() => framer.next()), c.expected, `${c.what}: the stream stays failed`);
  }
});

t.test('a bad header after good messages: the good ones come out first', async (t) => {
  const good = fixtures[0]![1];
  const framer = new Framer();
  framer.push(Buffer.concat([good, good, hex('ffffffffffffffffffffffffffffffff' + '100102')]));
  t.ok(framer.next());
  t.ok(framer.next());
  t.same(errorOf(() => framer.next()), { code: 1, subcode: 2, data: '1001' });
  framer.reset();
  framer.push(good);
  t.equal(framer.next()?.toString('hex'), good.toString('hex'), 'reset() starts a clean stream');
});

t.test('extended messages (RFC 8654): 65535-octet UPDATE, NOTIFICATION, ROUTE-REFRESH frames pass', async (t) => {
  for (const type of [2, 3, 5]) {
    const big = message(type, 65535);
    const framer = new Framer({ extendedMessage: true });
    const got = frames(framer, chunked(Buffer.concat([big, big]), 65536 - 7));
    t.equal(got.length, 2, `type ${type}`);
    t.equal(got[1], big.toString('hex'));
  }
  const framer = new Framer();
  framer.push(message(2, 4096));
  t.equal(framer.next()?.length, 4096, '4096 is the limit without the capability, inclusive');
});

t.test('setExtendedMessage applies to the message waiting for its body', async (t) => {
  const big = message(2, 5000);
  const framer = new Framer();
  framer.push(fixtures[0]![1]);
  t.ok(framer.next(), 'an OPEN before the switch');
  framer.setExtendedMessage(true);
  framer.push(big.subarray(0, 100));
  t.equal(framer.next(), null);
  framer.push(big.subarray(100));
  t.equal(framer.next()?.length, 5000);

  const back = new Framer({ extendedMessage: true });
  back.push(big.subarray(0, 100));
  t.equal(back.next(), null, 'header accepted under 65535');
  back.setExtendedMessage(false);
  t.same(errorOf(() => back.next()), { code: 1, subcode: 2, data: '1388' }, 'checked again under 4096');
});

t.test('memory: buffered data is bounded by one partial message once drained', async (t) => {
  const framer = new Framer({ extendedMessage: true });
  const big = message(2, 65535);
  // 40 large messages straddling 1000-octet chunks: the owned buffer must not grow with the stream.
  let most = 0;
  for (const c of chunked(Buffer.concat(Array.from({ length: 40 }, () => big)), 1000)) {
    framer.push(c);
    while (framer.next() !== null);
    most = Math.max(most, framer.buffered);
  }
  t.ok(most < 65535, `never more than a partial message pending (at most ${most} octets)`);
  t.equal(framer.buffered, 0);
});

t.test('speed: a full-table-sized stream of UPDATE-sized frames in 64 KiB chunks', async (t) => {
  // About 1M prefixes in ~60-octet UPDATEs of varying size: ~70 MB through push/next.
  const sizes = [23, 52, 61, 77, 96, 140, 1200, 4096];
  const burst = Buffer.concat(Array.from({ length: 4096 }, (_, i) => message(2, sizes[i % sizes.length]!)));
  const rounds = Math.ceil(70e6 / burst.length);
  const chunks = chunked(burst, 65536);
  const framer = new Framer();
  let n = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const c of chunks) {
      framer.push(c);
      while (framer.next() !== null) n++;
    }
  }
  const sec = Number(process.hrtime.bigint() - start) / 1e9;
  t.equal(n, rounds * 4096);
  t.comment(`${n} frames, ${((rounds * burst.length) / 1e6).toFixed(0)} MB in ${sec.toFixed(3)} s: ${((rounds * burst.length) / 1e6 / sec).toFixed(0)} MB/s`);
  t.ok(sec < 10, 'well within a budget that would hurt a session');
});

t.test('a partial message is copied out of the chunk once next() returns null: chunks may be reused', async (t) => {
  // net's `onread` option hands every read the same buffer; the Framer must not keep pointing at it.
  const stream = Buffer.concat(Array.from({ length: 20 }, () => all));
  const expected = fixtures.map(([, b]) => b.toString('hex')).join('').repeat(20);
  for (const size of [1, 7, 64, 333, 4096]) {
    const framer = new Framer();
    const shared = Buffer.alloc(size);
    let got = '';
    for (let i = 0; i < stream.length; i += size) {
      const n = stream.copy(shared, 0, i, i + size);
      framer.push(shared.subarray(0, n));
      for (let f = framer.next(); f !== null; f = framer.next()) got += f.toString('hex');
      shared.fill(0xee); // the next read overwrites the buffer
    }
    t.equal(got, expected, `read buffer of ${size} octets reused`);
  }
});

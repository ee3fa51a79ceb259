// NOTIFICATION (RFC 4271 §4.5): every code/subcode both ways, the RFC 9003 Shutdown Communication,
// and the BgpError <-> NOTIFICATION mapping the FSM uses.
import t from 'tap';
import { Buffer } from 'node:buffer';
import { CeaseSubcode, Errors, ErrorCode, describeError } from '../../proto/errors.js';
import { decodeMessage } from '../../proto/messages.js';
import {
  decodeNotification, encodeNotification, errorToNotification, makeShutdownNotification, notificationToError, shutdownCommunication,
} from '../../proto/notification.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { CodecContext, NotificationMessage } from '../../proto/types.js';

const ctx = DEFAULT_CONTEXT;
const extCtx: CodecContext = { ...DEFAULT_CONTEXT, extendedMessage: true };
const M = 'ffffffffffffffffffffffffffffffff';

function notification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): NotificationMessage {
  return { type: 'notification', code, subcode, data };
}

/** Every (code, subcode) of the IANA registry that wren names, and the text it shows for it. */
const CODES: [number, number, string][] = [
  [1, 1, 'Connection not synchronized'], [1, 2, 'Bad message length'], [1, 3, 'Bad message type'],
  [2, 0, 'Unspecific'], [2, 1, 'Unsupported version number'], [2, 2, 'Bad peer AS'], [2, 3, 'Bad BGP identifier'],
  [2, 4, 'Unsupported optional parameter'], [2, 6, 'Unacceptable hold time'], [2, 7, 'Unsupported capability'], [2, 11, 'Role mismatch'],
  [3, 1, 'Malformed attribute list'], [3, 2, 'Unrecognized well-known attribute'], [3, 3, 'Missing mandatory attribute'],
  [3, 4, 'Invalid attribute flags'], [3, 5, 'Invalid attribute length'], [3, 6, 'Invalid ORIGIN attribute'],
  [3, 8, 'Invalid NEXT_HOP attribute'], [3, 9, 'Optional attribute error'], [3, 10, 'Invalid network field'], [3, 11, 'Malformed AS_PATH'],
  [4, 0, 'Hold timer expired'],
  [5, 0, 'Unspecified error'], [5, 1, 'Unexpected message in OpenSent state'], [5, 2, 'Unexpected message in OpenConfirm state'],
  [5, 3, 'Unexpected message in Established state'],
  [6, 1, 'Maximum number of prefixes reached'], [6, 2, 'Administrative shutdown'], [6, 3, 'Peer de-configured'],
  [6, 4, 'Administrative reset'], [6, 5, 'Connection rejected'], [6, 6, 'Other configuration change'],
  [6, 7, 'Connection collision resolution'], [6, 8, 'Out of resources'], [6, 9, 'Hard reset'], [6, 10, 'BFD down'],
  [7, 1, 'Invalid message length'],
];

t.test('every code and subcode round-trips, with and without Data', async (t) => {
  for (const [code, subcode, text] of CODES) {
    for (const data of [new Uint8Array(0), Uint8Array.of(0xde, 0xad)]) {
      const n = notification(code, subcode, data);
      const wire = encodeNotification(n, ctx);
      const len = 21 + data.length;
      t.equal(wire.toString('hex'), `${M}${len.toString(16).padStart(4, '0')}03${code.toString(16).padStart(2, '0')}${subcode.toString(16).padStart(2, '0')}${Buffer.from(data).toString('hex')}`);
      t.strictSame(decodeMessage(wire, ctx), n, `${code}/${subcode} ${text}`);
    }
    t.equal(describeError(code, subcode), text);
  }
});

t.test('codes nobody defined are still decoded (a NOTIFICATION is never answered, RFC 4271 §6.4)', async (t) => {
  const wire = Buffer.from(`${M}00170309630102`, 'hex');
  t.strictSame(decodeMessage(wire, ctx), notification(9, 99, Uint8Array.of(1, 2)));
  t.equal(notificationToError(notification(9, 99)).message, 'Unknown error 9/99: received NOTIFICATION');
});

t.test('decoded Data is an owned copy, not a view of the socket buffer', async (t) => {
  const wire = Buffer.from(`${M}00170301020004`, 'hex');
  const n = decodeNotification(wire);
  wire.fill(0);
  t.strictSame(n.data, Uint8Array.of(0, 4));
});

t.test('Data beyond the maximum message size is cut, never making the NOTIFICATION unsendable', async (t) => {
  const attr = new Uint8Array(70000).fill(7);
  const n = notification(3, 5, attr);
  t.equal(encodeNotification(n, ctx).length, 4096);
  t.equal(encodeNotification(n, extCtx).length, 65535);
  t.equal(encodeNotification(notification(3, 5, attr.subarray(0, 4075)), ctx).length, 4096, 'exactly 4096 is untouched');
});

t.test('RFC 9003 shutdown communication: makeShutdownNotification', async (t) => {
  const n = makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, 'upgrade to v2 \u2014 back in 5 min');
  const text = Buffer.from('upgrade to v2 \u2014 back in 5 min');
  t.strictSame(n, notification(6, 2, Uint8Array.from(Buffer.concat([Buffer.of(text.length), text]))));
  t.equal(encodeNotification(n, ctx).toString('hex'), `${M}${(22 + text.length).toString(16).padStart(4, '0')}030602${text.length.toString(16)}${text.toString('hex')}`);
  t.equal(shutdownCommunication(n), 'upgrade to v2 \u2014 back in 5 min');

  const reset = makeShutdownNotification(CeaseSubcode.AdministrativeReset, 'config reload');
  t.equal(reset.subcode, 4);
  t.equal(shutdownCommunication(reset), 'config reload');

  t.strictSame(makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, ''), notification(6, 2), 'empty text: no Data at all');
});

t.test('RFC 9003 §2: more than 255 octets is cut at a character boundary', async (t) => {
  const ascii = makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, 'x'.repeat(300));
  t.equal(ascii.data[0], 255);
  t.equal(ascii.data.length, 256);
  // 'é' is 2 octets: 127 of them fill 254; a 128th would straddle octet 255.
  const twoByte = makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, '\u00e9'.repeat(200));
  t.equal(twoByte.data[0], 254);
  t.equal(shutdownCommunication(twoByte), '\u00e9'.repeat(127));
  // '😀' is 4 octets: 63 of them fill 252.
  const fourByte = makeShutdownNotification(CeaseSubcode.AdministrativeReset, '\u{1f600}'.repeat(100));
  t.equal(fourByte.data[0], 252);
  t.equal(shutdownCommunication(fourByte), '\u{1f600}'.repeat(63));
});

t.test('shutdownCommunication tolerates anything a peer sends: undefined, never a throw', async (t) => {
  const cases: [string, NotificationMessage, string | undefined][] = [
    ['no Data (pre-RFC 8203 speaker)', notification(6, 2), undefined],
    ['length 0', notification(6, 2, Uint8Array.of(0)), undefined],
    ['length beyond Data', notification(6, 2, Uint8Array.of(5, 0x61, 0x62)), undefined],
    ['invalid UTF-8 (lone continuation octet)', notification(6, 4, Uint8Array.of(2, 0x61, 0x80)), undefined],
    ['invalid UTF-8 (truncated sequence)', notification(6, 2, Uint8Array.of(2, 0xe2, 0x80)), undefined],
    ['UTF-8 overlong encoding of "/"', notification(6, 2, Uint8Array.of(2, 0xc0, 0xaf)), undefined],
    ['valid, trailing octets ignored', notification(6, 2, Uint8Array.of(2, 0x68, 0x69, 0xff, 0xff)), 'hi'],
    ['Cease of another subcode', notification(6, 3, Uint8Array.of(2, 0x68, 0x69)), undefined],
    ['another code', notification(2, 2, Uint8Array.of(2, 0x68, 0x69)), undefined],
  ];
  for (const [what, n, expected] of cases) t.equal(shutdownCommunication(n), expected, what);
  // Data that is a view into a larger buffer (offset non-zero) is read at the right place.
  const backing = Uint8Array.of(9, 9, 9, 2, 0x6f, 0x6b);
  t.equal(shutdownCommunication(notification(6, 2, backing.subarray(3))), 'ok', 'Data as a view at an offset');
});

t.test('BgpError <-> NOTIFICATION', async (t) => {
  const e = Errors.badMessageLength(4097);
  t.strictSame(errorToNotification(e), notification(1, 2, Uint8Array.of(0x10, 0x01)));
  const back = notificationToError(notification(ErrorCode.OpenMessage, 2));
  t.equal(back.code, 2);
  t.equal(back.subcode, 2);
  t.equal(back.message, 'Bad peer AS: received NOTIFICATION');
  t.equal(back.disposition, 'session-reset');
  const shutdown = makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, 'bye');
  t.strictSame(errorToNotification(notificationToError(shutdown)), shutdown, 'round trip keeps Data');
});

// A raw BGP test peer built on proto/: sends exactly the OPEN it is told to (bad hold time, zero
// identifier, missing capabilities — what real daemons refuse to be configured with) and prints
// every message it receives as one JSON line on stdout. Run inside a lab namespace:
//   node dist/test/interop/raw-peer.js '<json RawPeerOptions>'
// Mode `probe` sends nothing and reports how many bytes arrived before the other side closed.
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { Framer } from '../../proto/framer.js';
import { decodeMessage, encodeMessage } from '../../proto/messages.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { Capability, Message, OpenMessage } from '../../proto/types.js';

export interface RawPeerOptions {
  readonly mode: 'open' | 'probe';
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly myAs?: number;
  readonly holdTimeSec?: number;
  /** Dotted quad. */
  readonly bgpId?: string;
  /** IPv4 unicast (1/1), IPv6 unicast (2/1): the Multiprotocol capabilities to send. */
  readonly families?: readonly ('ipv4' | 'ipv6')[];
  /** The 4-octet AS capability with this AS (default: myAs). null = leave it out. */
  readonly as4?: number | null;
  /** Give up after this long (ms). */
  readonly timeoutMs?: number;
}

/** One line of output. */
export type RawPeerEvent =
  | { readonly event: 'connected'; readonly local: string; readonly localPort: number }
  | { readonly event: 'message'; readonly type: string; readonly code?: number; readonly subcode?: number; readonly data?: string; readonly holdTimeSec?: number; readonly ms: number }
  | { readonly event: 'close'; readonly bytes: number; readonly ms: number; readonly error?: string }
  | { readonly event: 'timeout'; readonly bytes: number; readonly ms: number };

function ipv4ToU32(text: string): number {
  return text.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

export function rawOpen(o: RawPeerOptions): OpenMessage {
  const myAs = o.myAs ?? 65000;
  const caps: Capability[] = (o.families ?? ['ipv4']).map((f) => ({ type: 'multiprotocol', afi: f === 'ipv4' ? 1 : 2, safi: 1 }) as const);
  const as4 = o.as4 === undefined ? myAs : o.as4;
  if (as4 !== null) caps.push({ type: 'four-octet-as', asn: as4 });
  return {
    type: 'open',
    version: 4,
    myAs: myAs > 0xffff ? 23456 : myAs,
    holdTimeSec: o.holdTimeSec ?? 90,
    bgpId: ipv4ToU32(o.bgpId ?? '10.255.0.1'),
    params: caps.length > 0 ? [{ type: 'capabilities', capabilities: caps }] : [],
  };
}

function main(): void {
  const o = JSON.parse(process.argv[2] ?? '{}') as RawPeerOptions;
  const t0 = Date.now();
  const out = (e: RawPeerEvent): void => {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  };
  let bytes = 0;
  const framer = new Framer();
  const sock = net.connect({ host: o.host, port: o.port, ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) });
  let error: string | undefined;
  const timer = setTimeout(() => {
    out({ event: 'timeout', bytes, ms: Date.now() - t0 });
    sock.destroy();
    process.exit(0);
  }, o.timeoutMs ?? 20_000);
  sock.on('connect', () => {
    out({ event: 'connected', local: sock.localAddress ?? '', localPort: sock.localPort ?? 0 });
    if (o.mode === 'open') sock.write(encodeMessage(rawOpen(o), DEFAULT_CONTEXT));
  });
  sock.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    framer.push(chunk);
    for (let f = framer.next(); f !== null; f = framer.next()) {
      let m: Message;
      try {
        m = decodeMessage(f, DEFAULT_CONTEXT);
      } catch (e) {
        out({ event: 'message', type: `undecodable: ${String(e)}`, ms: Date.now() - t0 });
        continue;
      }
      const ms = Date.now() - t0;
      if (m.type === 'notification') out({ event: 'message', type: 'notification', code: m.code, subcode: m.subcode, data: Buffer.from(m.data).toString('hex'), ms });
      else if (m.type === 'open') out({ event: 'message', type: 'open', holdTimeSec: m.holdTimeSec, ms });
      else out({ event: 'message', type: m.type, ms });
      // An acceptable OPEN from us would get a KEEPALIVE back; answer it so the session could go on.
      if (m.type === 'open' && o.mode === 'open') sock.write(encodeMessage({ type: 'keepalive' }, DEFAULT_CONTEXT));
    }
  });
  sock.on('error', (e) => {
    error = (e as NodeJS.ErrnoException).code ?? e.message;
  });
  sock.on('close', () => {
    clearTimeout(timer);
    out({ event: 'close', bytes, ms: Date.now() - t0, ...(error === undefined ? {} : { error }) });
    process.exit(0);
  });
}

if (process.argv[1]?.endsWith('raw-peer.js') === true) main();

/**
 * The Node side of bird-md5.test.ts, run inside a lab host's namespace:
 *   md5-peer listen  LOCAL PEER KEY   listen on LOCAL:179, MD5 key for PEER set on the listener
 *   md5-peer connect LOCAL PEER KEY   connect from LOCAL to PEER:179 with the key set before the SYN
 * Prints JSON lines: {listening} / {connected}, {accepted}, then {open} when a BGP OPEN arrives
 * (16 bytes of 0xff and type 1), which shows the authenticated segments carry data too.
 */
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { connectTcp, setTcpMd5 } from '../../src/native.js';

const BGP_PORT = 179 as const;
const BGP_HEADER_LEN = 19 as const;
const BGP_OPEN = 1 as const;

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

function readOpen(s: Socket): void {
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= BGP_HEADER_LEN) {
      const marker = buf.subarray(0, 16).every((b) => b === 0xff);
      out({ open: marker && buf[18] === BGP_OPEN });
    }
  });
  s.on('error', (e) => out({ socketError: e.message }));
}

const [mode, local, peer, key] = process.argv.slice(2);
if (mode === undefined || local === undefined || peer === undefined || key === undefined) {
  // Run without arguments (e.g. `tap test/native` picks up every .ts file): nothing to do.
  process.stderr.write('usage: md5-peer listen|connect LOCAL PEER KEY\n');
} else if (mode === 'listen') {
  const server = createServer((s) => {
    out({ accepted: s.remoteAddress });
    readOpen(s);
  });
  server.listen(BGP_PORT, local, () => {
    setTcpMd5(server, peer, key);
    out({ listening: true });
  });
} else {
  connectTcp({ address: peer, port: BGP_PORT, localAddress: local, md5Key: key, timeoutMs: 60_000 }).then(
    (s) => {
      out({ connected: s.remoteAddress });
      readOpen(s);
    },
    (e: unknown) => out({ connectError: String(e) }),
  );
}

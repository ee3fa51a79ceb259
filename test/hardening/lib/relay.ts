// A byte relay run inside a lab namespace: connects to `host:port` (from `localAddress`), copies
// stdin to the socket and the socket to stdout, with backpressure both ways (a test that stops
// reading our stdout makes us stop reading the socket, so TCP flow control reaches wren). Used by
// the hardening tests to drive a raw BGP peer from the test process while its TCP connection lives
// in a namespace:  ip netns exec NS node dist/test/hardening/lib/relay.js '{"host":...}'
// Signals on stderr: "CONNECTED <local>:<port>" once, "ERROR <code>" on a connect error.
import net from 'node:net';

export interface RelayTarget {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

function main(): void {
  const o = JSON.parse(process.argv[2] ?? '{}') as RelayTarget;
  const sock = net.connect({ host: o.host, port: o.port, ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) });
  sock.setNoDelay(true);
  sock.on('connect', () => {
    process.stderr.write(`CONNECTED ${sock.localAddress ?? ''}:${sock.localPort ?? 0}\n`);
    process.stdin.pipe(sock);
    sock.pipe(process.stdout);
  });
  sock.on('error', (e) => {
    process.stderr.write(`ERROR ${(e as NodeJS.ErrnoException).code ?? e.message}\n`);
  });
  sock.on('close', () => {
    // Let stdout flush what the socket delivered, then go.
    process.stdout.end(() => process.exit(0));
  });
  process.stdin.on('end', () => sock.end());
}

if (process.argv[1]?.endsWith('relay.js') === true) main();

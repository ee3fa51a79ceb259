/**
 * bgpctl: the command-line client of bgpd's JSON control socket. `main` is importable so tests run
 * it in-process; src/bgpctl.ts is only the process wrapper. Exit status: 0 success, 1 command error
 * (bad usage, unknown neighbor, invalid config on reload, ...), 2 bgpd unreachable.
 */
import { connect } from 'node:net';
import { grammarPaths, parseCommand } from './bgpctl-grammar.js';
import type { CommandAction } from './bgpctl-grammar.js';
import { jsonOutput, textOutput } from './bgpctl-output.js';
import type { Output } from './bgpctl-output.js';
import { DEFAULT_CONTROL_SOCKET } from './json-socket.js';
import type { ControlRequest } from './json-protocol.js';

export const EXIT_OK = 0;
export const EXIT_COMMAND_ERROR = 1;
export const EXIT_UNREACHABLE = 2;

export interface BgpctlIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** How long to wait for bgpd's reply (default 30 s: a full-table `show routes` takes a while). */
  readonly timeoutMs?: number;
}

export const HELP_TEXT = `bgpctl - query and control bgpd, wren's BGP daemon

Usage: bgpctl [-s SOCKET] COMMAND [--json]

Options:
  -s, --socket SOCKET   bgpd's control socket (default ${DEFAULT_CONTROL_SOCKET}; it is the
                        control.socket key of /etc/bgpd/bgpd.conf)
  -j, --json            machine-readable output (one JSON document on stdout)
  -h, --help            this text

Looking at things (safe, change nothing):
  show status             is bgpd up? version, router id, AS, uptime, config file,
                          graceful-restart state, number of routes
  show neighbors          one line per BGP peer, the same table as 'calicoctl node status':
                          STATE up = session working; start = trying to connect; down = disabled
  show neighbor ADDRESS   everything about one peer: state, last error, timers, capabilities,
                          message counters. Start here when a peer is not 'up'.
  show routes [PREFIX]    the routing table (Loc-RIB): '*' marks the best path, '+' other paths
                          used for multipath, REASON says why a path won or lost. With PREFIX
                          (172.18.64.0/26) or an address (172.18.64.5): the routes covering it.
  show kernel             the routes bgpd owns in the kernel, what it wants vs what is installed,
                          and any route it failed to program

Changing things:
  reload                         re-read the config file and apply it; prints what changed. If
                                 the file has errors they are listed and the old config stays.
  neighbor ADDRESS disable       shut the session down and keep it down (survives reload)
  neighbor ADDRESS enable        allow the session again
  neighbor ADDRESS reset         drop the session and reconnect (routes are re-learned)
  neighbor ADDRESS refresh in    re-learn without a reset: send ROUTE-REFRESH (RFC 2918) and the
                                 peer resends its routes (birdc 'reload in', 'clear ip bgp X
                                 soft in'); 'refresh' alone means 'refresh in'
  neighbor ADDRESS refresh out   re-send our routes to the peer, between BoRR and EoRR when it
                                 negotiated enhanced route refresh (RFC 7313). Both need an
                                 Established session that negotiated Route Refresh.
  log level LEVEL                fatal|error|warn|info|debug|trace, until the next restart

Words may be shortened while unambiguous: 'bgpctl sh nei' = 'bgpctl show neighbors'.

Exit status: 0 success, 1 the command failed (the message says why), 2 bgpd could not be
reached (not running, wrong socket path, or no permission on the socket).

Examples:
  bgpctl show neighbors
  bgpctl show neighbor 10.160.105.7
  bgpctl show routes 172.18.101.64/26
  bgpctl -s /run/bgpd/bgpd.sock show status --json
`;

export const HELP_COMMANDS: readonly string[] = grammarPaths();

class Unreachable extends Error {}

const ERRNO_HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'is bgpd running?',
  ECONNREFUSED: 'the socket file exists but nothing is listening; is bgpd running?',
  EACCES: "permission denied; run as root or as a member of the socket's group",
  EPERM: "permission denied; run as root or as a member of the socket's group",
  ENOTSOCK: 'that path is not a socket; check -s',
};

/** Sends one request and reads one reply line. Throws Unreachable when bgpd cannot be reached. */
async function request(path: string, req: ControlRequest, timeoutMs: number): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const sock = connect({ path });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Unreachable(`bgpd at ${path} did not answer within ${Math.round(timeoutMs / 1000)} s; is it stuck? (journalctl -u bgpd)`))),
      timeoutMs,
    );
    sock.once('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.subarray(0, nl));
      const line = Buffer.concat(chunks).toString('utf8');
      finish(() => {
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Unreachable(`bgpd at ${path} sent a reply that is not JSON; is that bgpd's control socket?`));
        }
      });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'error';
      const hint = ERRNO_HINTS[code] ?? err.message;
      finish(() => reject(new Unreachable(`cannot reach bgpd at ${path}: connect ${code} — ${hint}`)));
    });
    sock.once('close', () => finish(() => reject(new Unreachable(`bgpd at ${path} closed the connection without replying`))));
  });
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function render(out: Output, action: CommandAction, result: unknown): string {
  // The daemon is trusted to send the result type of the command asked for (json-protocol.ts ResultMap).
  switch (action) {
    case 'show-status':
      return out.status(result as Parameters<Output['status']>[0]);
    case 'show-neighbors':
      return out.neighbors(result as Parameters<Output['neighbors']>[0]);
    case 'show-neighbor':
      return out.neighbor(result as Parameters<Output['neighbor']>[0]);
    case 'show-routes':
      return out.routes(result as Parameters<Output['routes']>[0]);
    case 'show-kernel':
      return out.kernel(result as Parameters<Output['kernel']>[0]);
    case 'reload':
      return out.reload(result as Parameters<Output['reload']>[0]);
    case 'neighbor-action':
      return out.neighborAction(result as Parameters<Output['neighborAction']>[0]);
    case 'log-level':
      return out.logLevel(result as Parameters<Output['logLevel']>[0]);
  }
}

interface Options {
  socket: string;
  json: boolean;
  help: boolean;
  words: string[];
}

function parseOptions(argv: readonly string[]): Options | string {
  const o: Options = { socket: DEFAULT_CONTROL_SOCKET, json: false, help: false, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-s' || a === '--socket') {
      const v = argv[++i];
      if (v === undefined || v === '') return `${a} needs a socket path`;
      o.socket = v;
    } else if (a.startsWith('--socket=')) o.socket = a.slice('--socket='.length);
    else if (a === '--json' || a === '-j') o.json = true;
    else if (a === '-h' || a === '--help' || a === 'help') o.help = true;
    else if (a.startsWith('-') && a.length > 1) return `unknown option '${a}'`;
    else o.words.push(a);
  }
  return o;
}

/** Runs bgpctl with `argv` (without node and script) and returns the exit status. */
export async function main(argv: readonly string[], io: BgpctlIo): Promise<number> {
  const opts = parseOptions(argv);
  if (typeof opts === 'string') {
    io.stderr(`bgpctl: ${opts}\nRun 'bgpctl --help' for usage.\n`);
    return EXIT_COMMAND_ERROR;
  }
  if (opts.help) {
    io.stdout(HELP_TEXT);
    return EXIT_OK;
  }
  const out = opts.json ? jsonOutput : textOutput;
  const emitError = (message: string, details?: readonly string[]): void => {
    const e = out.error(message, details);
    if (e.stdout !== '') io.stdout(e.stdout);
    if (e.stderr !== '') io.stderr(e.stderr);
  };
  if (opts.words.length === 0) {
    io.stderr(`bgpctl: no command given\nUsage: bgpctl [-s SOCKET] COMMAND [--json]; run 'bgpctl --help' for the commands.\n`);
    return EXIT_COMMAND_ERROR;
  }
  const parsed = parseCommand(opts.words);
  if (!parsed.ok) {
    io.stderr(`bgpctl: ${parsed.error}\nRun 'bgpctl --help' for usage.\n`);
    return EXIT_COMMAND_ERROR;
  }
  let reply: unknown;
  try {
    reply = await request(opts.socket, parsed.request, io.timeoutMs ?? 30_000);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    if (opts.json) io.stdout(JSON.stringify({ error: err.message, unreachable: true }, null, 2) + '\n');
    io.stderr(`bgpctl: ${err.message}\n`);
    return EXIT_UNREACHABLE;
  }
  if (!isRecord(reply) || typeof reply['ok'] !== 'boolean') {
    emitError('bgpd sent a malformed reply');
    return EXIT_COMMAND_ERROR;
  }
  if (reply['ok'] === false) {
    const details = Array.isArray(reply['details']) ? reply['details'].filter((d): d is string => typeof d === 'string') : undefined;
    emitError(typeof reply['error'] === 'string' ? reply['error'] : 'command failed', details);
    return EXIT_COMMAND_ERROR;
  }
  io.stdout(render(out, parsed.action, reply['result']));
  return EXIT_OK;
}

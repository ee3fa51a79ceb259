/**
 * A BIRD 1.6-compatible control socket, so the unmodified `birdc`/`birdcl`, `calicoctl node status`
 * and calico-node's readiness/liveness probes work against wren (protocol: ../shared/reference/
 * birdc-protocol.md). Each connection gets the greeting at once, its commands are answered strictly
 * in order (pipelining is legal: calicoctl writes before reading the greeting), and replies stream
 * with backpressure so a client that stops reading costs bounded memory and is dropped.
 *
 * Deliberate differences from BIRD 1.6.8 (each is either a BIRD bug or something wren cannot mean):
 * - a line over 4094 bytes gets `9000 Command too long` (BIRD 1.6 spins at 100% CPU);
 * - continuation state resets after every final line (BIRD 2 behaviour);
 * - concurrent clients are capped; the client over the cap gets `8000 Too many connections`;
 * - `reload`, `debug`, `show interfaces|symbols`, `eval`, `configure timeout` are not implemented.
 */
import type { Socket } from 'node:net';
import type { ControlBackend } from '../status.js';
import { BirdFramer, executeBirdCommand, parseBirdCommand } from './bird-commands.js';
import type { BirdCommandContext, BirdReply, BirdSessionState } from './bird-commands.js';
import { CALICO_PROTOCOL_DISPLAY, Reply } from './bird-format.js';
import type { BirdLine, BirdProtocolDisplay } from './bird-format.js';
import {
  ClientOutput,
  DEFAULT_FLOW_LIMITS,
  LineSplitter,
  createTrackedServer,
  listenUnix,
  silentLogger,
  unlinkOwnSocket,
  yieldToLoop,
  serveLines,
} from './unix-server.js';
import type { ControlLogger, FlowLimits } from './unix-server.js';

/**
 * calico-bird's version string. The CalicoNodeStatus populator reads the version only from a
 * `1000-BIRD v...` line, and -bird-live only needs birdcl's output to start with `BIRD`.
 */
export const CALICO_BIRD_VERSION = 'v0.3.3+birdv1.6.8';

/** BIRD's CLI_RX_BUF_SIZE (4096) less the newline and terminator: the longest command accepted. */
export const BIRD_MAX_COMMAND_BYTES = 4094;

export interface BirdSocketOptions {
  readonly path: string;
  readonly backend: ControlBackend;
  readonly logger?: ControlLogger;
  /** Announced as `0001 BIRD <version> ready.` and `1000-BIRD <version>`. */
  readonly version?: string;
  /** BIRD 1.6 runs one daemon per family (bird.ctl / bird6.ctl); calicoctl parses names per family. */
  readonly family?: 'ipv4' | 'ipv6' | 'all';
  /** Show Calico's static1/kernel1/device1/direct1 rows (default true). */
  readonly builtinProtocols?: boolean;
  readonly display?: Partial<BirdProtocolDisplay>;
  readonly mode?: number;
  readonly group?: string | number;
  readonly maxClients?: number;
  readonly flow?: Partial<FlowLimits>;
  /** Every connection starts restricted, as after `restrict` (a read-only socket). */
  readonly restricted?: boolean;
}

/** Lines written between checks of the client's buffer and yields to the event loop. */
const WRITE_BATCH_LINES = 512;


export class BirdSocketServer {
  private readonly ctx: BirdCommandContext;
  private readonly log: ControlLogger;
  private readonly flow: FlowLimits;
  private readonly echoClients = new Set<ClientOutput>();
  private readonly tracked: ReturnType<typeof createTrackedServer>;
  private ino = -1;
  private closing = false;

  private constructor(private readonly opts: BirdSocketOptions) {
    this.log = opts.logger ?? silentLogger;
    this.flow = { ...DEFAULT_FLOW_LIMITS, ...opts.flow };
    this.ctx = {
      backend: opts.backend,
      version: opts.version ?? CALICO_BIRD_VERSION,
      family: opts.family ?? 'ipv4',
      builtinProtocols: opts.builtinProtocols ?? true,
      display: { ...CALICO_PROTOCOL_DISPLAY, ...opts.display },
    };
    this.tracked = createTrackedServer(
      opts.maxClients ?? 256,
      (socket) => this.accept(socket),
      (socket) => {
        this.log.warn({ event: 'control.client_refused', socket: opts.path, clients: this.tracked.sockets.size }, 'too many BIRD control clients');
        socket.on('error', () => undefined);
        socket.end(`${String(Reply.TOO_MANY_CLIENTS).padStart(4, '0')} Too many connections\n`);
      },
    );
  }

  static async listen(opts: BirdSocketOptions): Promise<BirdSocketServer> {
    const s = new BirdSocketServer(opts);
    const listenOpts = { path: opts.path, ...(opts.mode !== undefined ? { mode: opts.mode } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}) };
    s.ino = (await listenUnix(s.tracked.server, listenOpts)).ino;
    s.log.info({ event: 'control.listening', socket: opts.path, kind: 'bird' }, 'BIRD-compatible control socket listening');
    return s;
  }

  get path(): string {
    return this.opts.path;
  }

  get clientCount(): number {
    return this.tracked.sockets.size;
  }

  /** Sends a spontaneous `+` line to clients that asked for them with `echo`. */
  broadcast(message: string): void {
    const line = `+${message.replace(/[\r\n]+/g, ' ')}\n`;
    for (const out of this.echoClients) out.write(line);
  }

  async close(): Promise<void> {
    this.closing = true;
    const done = new Promise<void>((resolve) => this.tracked.server.close(() => resolve()));
    for (const s of this.tracked.sockets) s.destroy();
    await done;
    unlinkOwnSocket(this.opts.path, this.ino);
  }

  private accept(socket: Socket): void {
    const log = this.log;
    const out = new ClientOutput(socket, this.flow, (reason) => log.warn({ event: 'control.client_dropped', socket: this.opts.path, reason }, 'dropping BIRD control client'));
    const framer = new BirdFramer();
    const state: BirdSessionState = { restricted: this.opts.restricted ?? false, echo: false };
    socket.on('error', (err) => log.debug({ event: 'control.client_error', err: err.message }, 'BIRD control client error'));
    socket.on('close', () => this.echoClients.delete(out));

    serveLines(socket, out, new LineSplitter(BIRD_MAX_COMMAND_BYTES), async (item) => {
      const reply: BirdReply =
        item.kind === 'too-long' ? { lines: [], final: { code: Reply.COMMAND_TOO_LONG, text: 'Command too long' } } : await this.run(item.text, state);
      await this.send(out, framer, reply);
      if (state.echo) this.echoClients.add(out);
      else this.echoClients.delete(out);
      if (reply.after !== 'shutdown') return 'next';
      socket.end();
      log.info({ event: 'control.shutdown_requested', socket: this.opts.path }, 'shutdown requested over the BIRD control socket');
      this.opts.backend.shutdown();
      return 'stop';
    });

    out.write(framer.final({ code: Reply.WELCOME, text: `BIRD ${this.ctx.version} ready.` }));
  }

  private async run(line: string, state: BirdSessionState): Promise<BirdReply> {
    if (this.closing) return { lines: [], final: { code: Reply.TOO_MANY_CLIENTS, text: 'Shutting down' } };
    const cmd = parseBirdCommand(line);
    this.log.debug({ event: 'control.command', socket: this.opts.path, command: cmd.type }, 'BIRD control command');
    try {
      return await executeBirdCommand(cmd, this.ctx, state);
    } catch (err) {
      return this.internalError(err);
    }
  }

  private internalError(err: unknown): BirdReply {
    const message = err instanceof Error ? err.message : String(err);
    this.log.error({ event: 'control.command_failed', socket: this.opts.path, err: message }, 'BIRD control command failed');
    return { lines: [], final: { code: Reply.TOO_MANY_CLIENTS, text: `Internal error: ${message}` } };
  }

  /** Writes a reply in batches, waiting for the client to read whenever its buffer is full. */
  private async send(out: ClientOutput, framer: BirdFramer, reply: BirdReply): Promise<void> {
    let chunk = '';
    let n = 0;
    let final: BirdLine = reply.final;
    try {
      for (const line of reply.lines) {
        chunk += framer.line(line);
        if (++n % WRITE_BATCH_LINES === 0) {
          out.write(chunk);
          chunk = '';
          if (!(await out.waitForRoom())) return;
          await yieldToLoop();
        }
      }
    } catch (err) {
      // The reply must still end with a final line, or birdc waits forever.
      final = this.internalError(err).final;
    }
    out.write(chunk + framer.final(final));
  }
}

/**
 * Unix-socket plumbing shared by the two control sockets (wren's JSON socket and the BIRD-compatible
 * one): safe replacement of a stale socket file, permissions, a cap on concurrent clients, and an
 * output path that applies backpressure to reply generation and drops clients that stop reading.
 *
 * Why this exists as one module: both sockets face the same hostile-ish peers (a wedged monitoring
 * script, a `birdc` left in a terminal, a client that never reads). The daemon's event loop and
 * memory must not depend on any of them.
 */
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** The minimal logger the sockets need; pino satisfies it, tests pass a recorder. */
export interface ControlLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export const silentLogger: ControlLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

export interface UnixListenOptions {
  readonly path: string;
  /** File mode of the socket; BIRD uses 0660 so that only root and the socket's group can connect. */
  readonly mode?: number;
  /** Group name or gid to chown the socket to (lets a non-root operator group use it). */
  readonly group?: string | number;
}

export class ControlSocketError extends Error {
  readonly code: 'ERR_CONTROL_SOCKET_IN_USE' | 'ERR_CONTROL_SOCKET_NOT_SOCKET' | 'ERR_CONTROL_SOCKET_GROUP';
  constructor(code: ControlSocketError['code'], message: string) {
    super(message);
    this.name = 'ControlSocketError';
    this.code = code;
  }
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}

/** Resolves a group name through /etc/group (no NSS: the control socket is set up before anything else). */
export function resolveGid(group: string | number): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    throw new ControlSocketError('ERR_CONTROL_SOCKET_GROUP', `cannot read /etc/group to resolve group '${group}'`);
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new ControlSocketError('ERR_CONTROL_SOCKET_GROUP', `unknown group '${group}' for the control socket`);
}

/**
 * Removes a socket file left behind by a daemon that died, but refuses to steal the socket of a
 * daemon that is still running (a second bgpd started by mistake must not orphan the first one's
 * clients) and refuses to delete anything that is not a socket.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) {
    throw new ControlSocketError('ERR_CONTROL_SOCKET_NOT_SOCKET', `${path} exists and is not a socket; refusing to replace it`);
  }
  const live = await new Promise<boolean | Error>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err) => {
      const code = errnoOf(err);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') resolve(false);
      else resolve(err);
    });
  });
  if (live instanceof Error) throw live;
  if (live) {
    throw new ControlSocketError(
      'ERR_CONTROL_SOCKET_IN_USE',
      `${path} is in use: another daemon is listening on it (stop it first, or choose another control socket path)`,
    );
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

/** Binds a server on a unix socket path after clearing a stale file; the file gets `mode` from birth. */
export async function listenUnix(server: Server, opts: UnixListenOptions): Promise<{ ino: number }> {
  const mode = opts.mode ?? 0o660;
  const gid = opts.group === undefined ? undefined : resolveGid(opts.group);
  await clearStaleSocket(opts.path);
  // bind() creates the file synchronously inside listen(); a matching umask closes the window in
  // which the socket would be reachable with looser permissions before chmod.
  const oldMask = process.umask(0o777 & ~mode);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ path: opts.path }, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(opts.path, mode);
  if (gid !== undefined) chownSync(opts.path, -1, gid);
  return { ino: lstatSync(opts.path).ino };
}

/** Unlinks the socket file only if it is still the one we created (a successor may own the path). */
export function unlinkOwnSocket(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

export interface FlowLimits {
  /** Reply generation pauses while more than this many bytes wait in the socket's user-space buffer. */
  readonly highWaterBytes: number;
  /** A client that lets this many bytes pile up (e.g. async broadcasts it never reads) is dropped. */
  readonly maxBufferedBytes: number;
  /** A paused reply that sees no progress for this long drops the client: it has stopped reading. */
  readonly stallTimeoutMs: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = {
  highWaterBytes: 256 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  stallTimeoutMs: 30_000,
};

/**
 * The write side of one client connection. `write` never blocks; `waitForRoom` is awaited between
 * reply batches so a big reply (a full table) is produced only as fast as the client reads it.
 */
export class ClientOutput {
  private dropped = false;
  constructor(
    private readonly socket: Socket,
    private readonly limits: FlowLimits,
    private readonly onDrop: (reason: string) => void,
  ) {}

  get closed(): boolean {
    return this.dropped || this.socket.destroyed || !this.socket.writable;
  }

  write(text: string): void {
    if (this.closed) return;
    this.socket.write(text);
    if (this.socket.writableLength > this.limits.maxBufferedBytes) {
      this.drop(`client is not reading (${this.socket.writableLength} bytes queued)`);
    }
  }

  /** Resolves once the queued output is below the high-water mark; false if the client was dropped. */
  async waitForRoom(): Promise<boolean> {
    if (this.closed) return false;
    if (this.socket.writableLength <= this.limits.highWaterBytes) return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.socket.removeListener('drain', onDrain);
        this.socket.removeListener('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      const timer = setTimeout(() => {
        this.drop(`client stopped reading for ${this.limits.stallTimeoutMs} ms`);
        done(false);
      }, this.limits.stallTimeoutMs);
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  drop(reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    this.onDrop(reason);
    this.socket.destroy();
  }
}

/** Yields to the event loop so long replies never monopolise it (keepalives must stay on time). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface ClientTracker {
  readonly sockets: Set<Socket>;
  readonly maxClients: number;
}

/** A net.Server whose connections are tracked, so close() can end them all. */
export function createTrackedServer(
  maxClients: number,
  onClient: (socket: Socket) => void,
  onRefused: (socket: Socket) => void,
): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    if (sockets.size >= maxClients) {
      onRefused(socket);
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onClient(socket);
  });
  return { server, sockets };
}

/** One input line from LineSplitter, or the marker of a line that exceeded the cap. */
export type SplitLine = { readonly kind: 'line'; readonly text: string } | { readonly kind: 'too-long' };

/** Lines a client may have waiting before its socket stops being read. */
export const MAX_QUEUED_LINES = 64;

/**
 * One client's command loop, shared by the bgpctl and BIRD sockets: lines are queued as they
 * arrive and handled one at a time, in order (a reply is never interleaved with the next). Past
 * MAX_QUEUED_LINES waiting lines the socket stops being read, so the kernel's buffer pushes back
 * on a client that pipelines without reading, until half of them have been handled. `handle`
 * returning 'stop' ends the loop for good (the handler has closed or is closing the client).
 */
export function serveLines(socket: Socket, out: ClientOutput, splitter: LineSplitter, handle: (line: SplitLine) => Promise<'next' | 'stop'>): void {
  const queue: SplitLine[] = [];
  let busy = false;
  let paused = false;
  let stopped = false;
  const pump = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      for (let item = queue.shift(); item !== undefined && !out.closed; item = queue.shift()) {
        if (paused && queue.length < MAX_QUEUED_LINES / 2) {
          paused = false;
          socket.resume();
        }
        if ((await handle(item)) === 'stop') {
          stopped = true;
          return;
        }
      }
    } finally {
      busy = false;
    }
  };
  socket.on('data', (chunk: Buffer) => {
    for (const item of splitter.push(chunk)) queue.push(item);
    if (queue.length >= MAX_QUEUED_LINES && !paused) {
      paused = true;
      socket.pause();
    }
    void pump();
  });
}

/** Accumulates newline-delimited input with a cap on one line's size; CR is dropped as BIRD does. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partLen = 0;
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Buffered bytes of the current, incomplete line. */
  get pendingBytes(): number {
    return this.partLen;
  }

  /**
   * Splits a chunk. Returns complete lines and, for each line that exceeded the cap, a 'too-long'
   * marker at its position (its bytes are discarded up to the next newline, never buffered).
   */
  push(chunk: Buffer): SplitLine[] {
    const out: SplitLine[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        const piece = stripCR(chunk.subarray(start, end));
        if (this.partLen + piece.length > this.maxLineBytes) {
          this.parts = [];
          this.partLen = 0;
          this.discarding = true;
          out.push({ kind: 'too-long' });
        } else if (piece.length > 0) {
          // Copy: a retained subarray would pin the whole chunk.
          this.parts.push(Buffer.from(piece));
          this.partLen += piece.length;
        }
      }
      if (nl < 0) break;
      if (this.discarding) {
        this.discarding = false;
      } else {
        out.push({ kind: 'line', text: Buffer.concat(this.parts, this.partLen).toString('utf8') });
      }
      this.parts = [];
      this.partLen = 0;
      start = nl + 1;
    }
    return out;
  }
}

function stripCR(buf: Buffer): Buffer {
  if (buf.indexOf(0x0d) < 0) return buf;
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  for (const b of buf) if (b !== 0x0d) out[n++] = b;
  return out.subarray(0, n);
}

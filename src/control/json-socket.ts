/**
 * wren's own control socket (bgpctl talks to it): line-delimited JSON on a unix socket. Requests on
 * one connection are answered in order; big results (the RIB) are streamed with backpressure as one
 * JSON line, so a full table never becomes one giant string and a client that stops reading is
 * dropped instead of growing the daemon's memory. A read-only instance (OpenBGPD's restricted
 * socket) refuses every state-changing command, for monitoring users.
 */
import type { Socket } from 'node:net';
import type { ControlBackend, NeighborStatus, RoutePath } from '../status.js';
import { parseAddr, parsePrefix, prefixContains, samePrefix } from './ip.js';
import type { ParsedPrefix } from './ip.js';
import { STATE_CHANGING_COMMANDS, validateRequest } from './json-protocol.js';
import type { ControlRequest, ControlResponse, RequestId } from './json-protocol.js';
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

export const DEFAULT_CONTROL_SOCKET = '/run/bgpd/bgpd.sock';
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;

export interface JsonSocketOptions {
  readonly path: string;
  readonly backend: ControlBackend;
  readonly logger?: ControlLogger;
  readonly mode?: number;
  readonly group?: string | number;
  readonly maxClients?: number;
  readonly maxRequestBytes?: number;
  readonly flow?: Partial<FlowLimits>;
  /** Refuse reload, neighbor enable/disable/reset and log level. */
  readonly readOnly?: boolean;
}

/** A reply whose result contains one large array, streamed element by element. */
interface StreamedReply {
  readonly kind: 'stream';
  readonly id?: RequestId;
  /** The result object without the streamed array. */
  readonly head: Readonly<Record<string, unknown>>;
  readonly key: string;
  readonly items: Iterable<unknown>;
}

type Reply = { readonly kind: 'plain'; readonly response: ControlResponse } | StreamedReply;

const STREAM_BATCH_ITEMS = 256;

/** Finds a neighbor by address (canonical comparison, so `fd00::07` finds `fd00::7`) or by name. */
export function findNeighbor(neighbors: readonly NeighborStatus[], key: string): NeighborStatus | undefined {
  const want = parseAddr(key);
  return neighbors.find((n) => {
    if (n.name === key || n.address === key) return true;
    const have = parseAddr(n.address);
    return want !== null && have !== null && want.v6 === have.v6 && want.value === have.value;
  });
}

/**
 * `show routes PREFIX`: the network itself when present, else the longest prefix covering it (an
 * address works like BIRD's `show route for`). Returns null when nothing covers it.
 */
export function selectRoutes(routes: readonly RoutePath[], query: string): RoutePath[] | null | 'invalid' {
  let target: ParsedPrefix | null;
  if (query.includes('/')) target = parsePrefix(query);
  else {
    const a = parseAddr(query);
    target = a === null ? null : { ...a, len: a.v6 ? 128 : 32 };
  }
  if (target === null) return 'invalid';
  const parsed = new Map<string, ParsedPrefix | null>();
  const parse = (p: string): ParsedPrefix | null => {
    if (!parsed.has(p)) parsed.set(p, parsePrefix(p));
    return parsed.get(p) ?? null;
  };
  const exact = routes.filter((r) => {
    const p = parse(r.prefix);
    return p !== null && samePrefix(p, target);
  });
  if (exact.length > 0) return exact;
  let bestLen = -1;
  for (const r of routes) {
    const p = parse(r.prefix);
    if (p !== null && p.len <= target.len && p.len > bestLen && prefixContains(p, target)) bestLen = p.len;
  }
  if (bestLen < 0) return null;
  return routes.filter((r) => {
    const p = parse(r.prefix);
    return p !== null && p.len === bestLen && prefixContains(p, target);
  });
}

export class JsonSocketServer {
  private readonly log: ControlLogger;
  private readonly flow: FlowLimits;
  private readonly tracked: ReturnType<typeof createTrackedServer>;
  private ino = -1;

  private constructor(private readonly opts: JsonSocketOptions) {
    this.log = opts.logger ?? silentLogger;
    this.flow = { ...DEFAULT_FLOW_LIMITS, ...opts.flow };
    this.tracked = createTrackedServer(
      opts.maxClients ?? 64,
      (socket) => this.accept(socket),
      (socket) => {
        this.log.warn({ event: 'control.client_refused', socket: opts.path }, 'too many control clients');
        socket.on('error', () => undefined);
        socket.end(JSON.stringify({ ok: false, error: 'too many clients connected to bgpd; try again' }) + '\n');
      },
    );
  }

  static async listen(opts: JsonSocketOptions): Promise<JsonSocketServer> {
    const s = new JsonSocketServer(opts);
    const listenOpts = { path: opts.path, ...(opts.mode !== undefined ? { mode: opts.mode } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}) };
    s.ino = (await listenUnix(s.tracked.server, listenOpts)).ino;
    s.log.info({ event: 'control.listening', socket: opts.path, kind: 'json', readOnly: opts.readOnly ?? false }, 'control socket listening');
    return s;
  }

  get path(): string {
    return this.opts.path;
  }

  get clientCount(): number {
    return this.tracked.sockets.size;
  }

  async close(): Promise<void> {
    const done = new Promise<void>((resolve) => this.tracked.server.close(() => resolve()));
    for (const s of this.tracked.sockets) s.destroy();
    await done;
    unlinkOwnSocket(this.opts.path, this.ino);
  }

  private accept(socket: Socket): void {
    const out = new ClientOutput(socket, this.flow, (reason) =>
      this.log.warn({ event: 'control.client_dropped', socket: this.opts.path, reason }, 'dropping control client'),
    );
    const maxBytes = this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    socket.on('error', (err) => this.log.debug({ event: 'control.client_error', err: err.message }, 'control client error'));
    serveLines(socket, out, new LineSplitter(maxBytes), async (item) => {
      if (item.kind === 'too-long') {
        socket.end(JSON.stringify({ ok: false, error: `request too large (limit ${maxBytes} bytes)` }) + '\n');
        return 'stop';
      }
      if (item.text.trim() !== '') await this.send(out, await this.handleLine(item.text));
      return 'next';
    });
  }

  private async handleLine(line: string): Promise<Reply> {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { kind: 'plain', response: { ok: false, error: 'request is not valid JSON' } };
    }
    const req = validateRequest(raw);
    if ('error' in req) {
      return { kind: 'plain', response: { ok: false, error: req.error, ...(req.id === undefined ? {} : { id: req.id }) } };
    }
    const withId = req.id === undefined ? {} : { id: req.id };
    if (this.opts.readOnly === true && STATE_CHANGING_COMMANDS.has(req.command)) {
      return { kind: 'plain', response: { ...withId, ok: false, error: `permission denied: "${req.command}" is not allowed on the read-only socket ${this.opts.path}` } };
    }
    this.log.debug({ event: 'control.command', socket: this.opts.path, command: req.command }, 'control command');
    try {
      return await this.execute(req);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error({ event: 'control.command_failed', command: req.command, err: message }, 'control command failed');
      return { kind: 'plain', response: { ...withId, ok: false, error: `internal error: ${message}` } };
    }
  }

  private async execute(req: ControlRequest): Promise<Reply> {
    const b = this.opts.backend;
    const withId = req.id === undefined ? {} : { id: req.id };
    const plain = (response: ControlResponse): Reply => ({ kind: 'plain', response: { ...response, ...withId } });
    const fail = (error: string, details?: readonly string[]): Reply => plain({ ok: false, error, ...(details === undefined ? {} : { details }) });
    switch (req.command) {
      case 'show status':
        return plain({ ok: true, result: b.status() });
      case 'show neighbors':
        return plain({ ok: true, result: { nowMs: b.status().nowMs, neighbors: b.neighbors() } });
      case 'show neighbor': {
        const n = findNeighbor(b.neighbors(), req.args.address);
        if (n === undefined) return fail(`no such neighbor: ${req.args.address}`);
        return plain({ ok: true, result: { nowMs: b.status().nowMs, neighbor: n } });
      }
      case 'show routes': {
        const prefix = req.args?.prefix;
        // With a prefix the backend returns every candidate path for it (and why each lost), not
        // only the best; selectRoutes then keeps the exact or longest match as before.
        const all = prefix === undefined ? b.routes() : b.routes({ prefix });
        let routes: readonly RoutePath[] = all;
        if (prefix !== undefined) {
          const sel = selectRoutes(all, prefix);
          if (sel === 'invalid') return fail(`not a prefix or address: ${prefix}`);
          if (sel === null) return fail(`network not in table: ${prefix}`);
          routes = sel;
        }
        return { kind: 'stream', ...withId, head: { nowMs: b.status().nowMs }, key: 'routes', items: routes };
      }
      case 'show kernel':
        return plain({ ok: true, result: { routes: b.kernel() } });
      case 'reload': {
        const r = await b.reload();
        return r.ok ? plain({ ok: true, result: { changes: r.changes } }) : fail('configuration has errors; still running the previous configuration', r.errors);
      }
      case 'neighbor': {
        const n = findNeighbor(b.neighbors(), req.args.address);
        if (n === undefined) return fail(`no such neighbor: ${req.args.address}`);
        const action = req.args.action;
        const direction = action === 'refresh' ? (req.args.direction ?? 'in') : undefined;
        const r = action === 'refresh' ? b.neighborRefresh(n.name, direction ?? 'in') : b.neighborAction(n.name, action);
        if (!r.ok) return fail(r.error);
        this.log.info({ event: 'control.neighbor_action', peer: n.address, action, direction }, 'neighbor action over the control socket');
        return plain({ ok: true, result: { name: n.name, address: n.address, action, ...(direction === undefined ? {} : { direction }), message: r.message } });
      }
      case 'log level': {
        const r = b.setLogLevel(req.args.level);
        return r.ok ? plain({ ok: true, result: { level: req.args.level } }) : fail(r.error);
      }
    }
  }

  private async send(out: ClientOutput, reply: Reply): Promise<void> {
    if (reply.kind === 'plain') {
      out.write(JSON.stringify(reply.response) + '\n');
      return;
    }
    const idPart = reply.id === undefined ? '' : `"id":${JSON.stringify(reply.id)},`;
    const headJson = JSON.stringify(reply.head);
    const headOpen = headJson === '{}' ? '{' : headJson.slice(0, -1) + ',';
    let chunk = `{${idPart}"ok":true,"result":${headOpen}${JSON.stringify(reply.key)}:[`;
    let n = 0;
    for (const item of reply.items) {
      chunk += (n > 0 ? ',' : '') + JSON.stringify(item);
      if (++n % STREAM_BATCH_ITEMS === 0) {
        out.write(chunk);
        chunk = '';
        if (!(await out.waitForRoom())) return;
        await yieldToLoop();
      }
    }
    out.write(chunk + ']}}\n');
  }
}

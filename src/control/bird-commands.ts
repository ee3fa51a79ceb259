/**
 * The BIRD 1.6 CLI grammar wren accepts, and the execution of each command against a
 * ControlBackend. Separate from the socket so every command is testable as (line) -> reply lines.
 *
 * Parsing follows BIRD's "CLI mode" lexer: case-sensitive keywords, no abbreviation expansion
 * (birdc expands client-side and sends full words), symbols or "quoted patterns" as protocol
 * arguments, and `9001 syntax error` for everything else, including an empty line.
 */
import type { ControlBackend, NeighborStatus, RefreshDirection, RoutePath } from '../status.js';
import {
  BUILTIN_PROTOCOL_NAMES,
  Reply,
  birdPatternMatch,
  builtinProtocols,
  groupByPrefix,
  memoryLine,
  neighborProtocol,
  orderPathsForDisplay,
  PROTOCOLS_HEADER,
  protocolRow,
  routeDetailLines,
  routeProtocolName,
  routeRow,
  statusLines,
} from './bird-format.js';
import type { BirdLine, BirdProtocol, BirdProtocolDisplay } from './bird-format.js';
import { parseAddr, parsePrefix, prefixContains, samePrefix } from './ip.js';
import type { ParsedPrefix } from './ip.js';

// ---------------------------------------------------------------------------------------------
// Tokens and commands

type Token = { readonly kind: 'word'; readonly text: string } | { readonly kind: 'string'; readonly text: string };

export type ProtoTarget =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'all' };

export interface RouteQuery {
  readonly detail: boolean;
  readonly count: 'no' | 'only' | 'stats';
  readonly primary: boolean;
  readonly filtered: boolean;
  /** `for X`: longest match. */
  readonly forAddr: ParsedPrefix | null;
  /** A bare prefix: that network exactly. */
  readonly net: ParsedPrefix | null;
  readonly protocol: string | null;
}

export type BirdCommand =
  | { readonly type: 'show-protocols'; readonly all: boolean; readonly target: ProtoTarget | null }
  | { readonly type: 'show-status' }
  | { readonly type: 'show-memory' }
  | { readonly type: 'show-route'; readonly query: RouteQuery }
  | { readonly type: 'configure'; readonly check: boolean; readonly file: string | null }
  | { readonly type: 'configure-nothing' }
  | { readonly type: 'proto-action'; readonly action: 'enable' | 'disable' | 'restart'; readonly target: ProtoTarget }
  | { readonly type: 'proto-reload'; readonly direction: RefreshDirection | 'both'; readonly target: ProtoTarget }
  | { readonly type: 'down' }
  | { readonly type: 'restrict' }
  | { readonly type: 'echo'; readonly on: boolean }
  | { readonly type: 'error'; readonly code: number; readonly text: string };

const SYNTAX_ERROR: BirdCommand = { type: 'error', code: Reply.PARSE_ERROR, text: 'syntax error' };
/** BIRD's SYM_MAX_LEN. */
const SYMBOL_MAX_LEN = 64;
const SYMBOL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function tokenize(line: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) return null;
      tokens.push({ kind: 'string', text: line.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t' && line[j] !== '"') j++;
    tokens.push({ kind: 'word', text: line.slice(i, j) });
    i = j;
  }
  return tokens;
}

class Cursor {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  /** Consumes a keyword if it is next; keywords are case-sensitive, as in BIRD's lexer. */
  keyword(word: string): boolean {
    const t = this.tokens[this.i];
    if (t !== undefined && t.kind === 'word' && t.text === word) {
      this.i++;
      return true;
    }
    return false;
  }
  get done(): boolean {
    return this.i >= this.tokens.length;
  }
}

/** A protocol argument: `all` (when allowed), a bare symbol or a "quoted pattern". */
function parseTarget(c: Cursor, allowAll: boolean): ProtoTarget | BirdCommand | null {
  const t = c.peek();
  if (t === undefined) return null;
  if (t.kind === 'string') {
    c.next();
    return { kind: 'pattern', pattern: t.text };
  }
  if (allowAll && t.text === 'all') {
    c.next();
    return { kind: 'all' };
  }
  if (!SYMBOL_RE.test(t.text)) return SYNTAX_ERROR;
  if (t.text.length > SYMBOL_MAX_LEN) return { type: 'error', code: Reply.PARSE_ERROR, text: 'Symbol too long' };
  c.next();
  return { kind: 'name', name: t.text };
}

function isCommand(x: ProtoTarget | BirdCommand | null): x is BirdCommand {
  return x !== null && 'type' in x;
}

function parseShowRoute(c: Cursor): BirdCommand {
  let detail = false;
  let count: RouteQuery['count'] = 'no';
  let primary = false;
  let filtered = false;
  let forAddr: ParsedPrefix | null = null;
  let net: ParsedPrefix | null = null;
  let protocol: string | null = null;
  while (!c.done) {
    const t = c.next();
    if (t === undefined || t.kind !== 'word') return SYNTAX_ERROR;
    switch (t.text) {
      case 'all':
        detail = true;
        break;
      case 'count':
        count = 'only';
        break;
      case 'stats':
        count = 'stats';
        break;
      case 'primary':
        primary = true;
        break;
      case 'filtered':
        filtered = true;
        break;
      case 'for': {
        const a = c.next();
        const p = a?.kind === 'word' ? prefixOrAddr(a.text) : null;
        if (p === null) return SYNTAX_ERROR;
        forAddr = p;
        break;
      }
      case 'protocol': {
        const a = c.next();
        if (a === undefined || a.kind !== 'word' || !SYMBOL_RE.test(a.text)) return SYNTAX_ERROR;
        protocol = a.text;
        break;
      }
      case 'table': {
        const a = c.next();
        if (a === undefined || a.kind !== 'word' || !SYMBOL_RE.test(a.text)) return SYNTAX_ERROR;
        if (a.text !== 'master') return { type: 'error', code: Reply.PARSE_ERROR, text: `${a.text} is not a table` };
        break;
      }
      default: {
        const p = prefixOrAddr(t.text);
        if (p === null) return SYNTAX_ERROR;
        net = p;
      }
    }
  }
  return { type: 'show-route', query: { detail, count, primary, filtered, forAddr, net, protocol } };
}

function prefixOrAddr(text: string): ParsedPrefix | null {
  if (text.includes('/')) return parsePrefix(text);
  const a = parseAddr(text);
  return a === null ? null : { ...a, len: a.v6 ? 128 : 32 };
}

export function parseBirdCommand(line: string): BirdCommand {
  const tokens = tokenize(line);
  if (tokens === null || tokens.length === 0) return SYNTAX_ERROR;
  const c = new Cursor(tokens);
  let cmd: BirdCommand;
  if (c.keyword('show')) {
    if (c.keyword('protocols')) {
      const all = c.keyword('all');
      const target = parseTarget(c, false);
      if (isCommand(target)) return target;
      cmd = { type: 'show-protocols', all, target };
    } else if (c.keyword('status')) {
      cmd = { type: 'show-status' };
    } else if (c.keyword('memory')) {
      cmd = { type: 'show-memory' };
    } else if (c.keyword('route')) {
      return parseShowRoute(c);
    } else {
      return SYNTAX_ERROR;
    }
  } else if (c.keyword('configure')) {
    if (c.keyword('confirm') || c.keyword('undo')) {
      cmd = { type: 'configure-nothing' };
    } else {
      const check = c.keyword('check');
      if (!check) c.keyword('soft');
      const f = c.peek();
      let file: string | null = null;
      if (f?.kind === 'string') {
        c.next();
        file = f.text;
      }
      if (c.keyword('timeout')) {
        return { type: 'error', code: Reply.PARSE_ERROR, text: 'configure timeout is not supported by wren' };
      }
      cmd = { type: 'configure', check, file };
    }
  } else if (c.keyword('enable') || c.keyword('disable') || c.keyword('restart')) {
    const word = tokens[0]?.text;
    const action = word === 'enable' ? 'enable' : word === 'disable' ? 'disable' : 'restart';
    const target = parseTarget(c, true);
    if (target === null) return SYNTAX_ERROR;
    if (isCommand(target)) return target;
    cmd = { type: 'proto-action', action, target };
  } else if (c.keyword('reload')) {
    const direction = c.keyword('in') ? 'in' : c.keyword('out') ? 'out' : 'both';
    const target = parseTarget(c, true);
    if (target === null) return SYNTAX_ERROR;
    if (isCommand(target)) return target;
    cmd = { type: 'proto-reload', direction, target };
  } else if (c.keyword('down')) {
    cmd = { type: 'down' };
  } else if (c.keyword('restrict')) {
    cmd = { type: 'restrict' };
  } else if (c.keyword('echo')) {
    let on: boolean;
    if (c.keyword('off')) on = false;
    else if (c.keyword('all')) on = true;
    else if (c.keyword('{')) {
      while (!c.done && !c.keyword('}')) c.next();
      on = true;
    } else return SYNTAX_ERROR;
    const size = c.peek();
    if (size?.kind === 'word' && /^\d+$/.test(size.text)) c.next();
    cmd = { type: 'echo', on };
  } else {
    return SYNTAX_ERROR;
  }
  return c.done ? cmd : SYNTAX_ERROR;
}

// ---------------------------------------------------------------------------------------------
// Execution

/** A reply: streamed lines and the final line; `after` runs once the reply is written (`down`). */
export interface BirdReply {
  readonly lines: Iterable<BirdLine>;
  readonly final: BirdLine;
  readonly after?: 'shutdown';
}

export interface BirdSessionState {
  restricted: boolean;
  echo: boolean;
}

export interface BirdCommandContext {
  readonly backend: ControlBackend;
  readonly version: string;
  readonly family: 'ipv4' | 'ipv6' | 'all';
  readonly builtinProtocols: boolean;
  readonly display: BirdProtocolDisplay;
}

const ok = (lines: Iterable<BirdLine> = []): BirdReply => ({ lines, final: { code: Reply.OK, text: '' } });
const single = (code: number, text: string): BirdReply => ({ lines: [], final: { code, text } });

function familyNeighbors(ctx: BirdCommandContext): NeighborStatus[] {
  return ctx.backend.neighbors().filter((n) => ctx.family === 'all' || n.afi === ctx.family);
}

function familyRoutes(ctx: BirdCommandContext): readonly RoutePath[] {
  return ctx.family === 'all' ? ctx.backend.routes() : ctx.backend.routes({ family: ctx.family });
}

function allProtocols(ctx: BirdCommandContext, withRoutes: boolean): BirdProtocol[] {
  const status = ctx.backend.status();
  const grRecovery = status.gracefulRestart.state === 'running';
  const bgp = familyNeighbors(ctx).map((n) => neighborProtocol(n, ctx.display, grRecovery));
  if (!ctx.builtinProtocols) return bgp;
  const routes = withRoutes ? familyRoutes(ctx) : [];
  return [...builtinProtocols(status, routes, withRoutes ? ctx.backend.kernel() : [], ctx.display), ...bgp];
}

/** Resolves a protocol argument the way BIRD does: 9002 for an unknown name, 8003 for an empty match. */
function selectProtocols(protocols: readonly BirdProtocol[], target: ProtoTarget | null): BirdProtocol[] | BirdReply {
  if (target === null || target.kind === 'all') return [...protocols];
  if (target.kind === 'name') {
    const p = protocols.find((x) => x.name === target.name);
    return p === undefined ? single(Reply.INVALID_SYMBOL, `${target.name} is not a protocol`) : [p];
  }
  const matched = protocols.filter((p) => birdPatternMatch(target.pattern, p.name));
  return matched.length === 0 ? single(Reply.NO_PROTOCOLS_MATCH, 'No protocols match') : matched;
}

function* showProtocolLines(selected: readonly BirdProtocol[], all: boolean, nowMs: number): Generator<BirdLine> {
  if (selected.length === 0) return;
  yield { code: Reply.TABLE_HEADING, text: PROTOCOLS_HEADER };
  for (const p of selected) {
    yield { code: Reply.PROTOCOL_LIST, text: protocolRow(p, nowMs) };
    if (all) for (const d of p.details) yield { code: Reply.PROTOCOL_DETAILS, text: d };
  }
}

function showRoute(ctx: BirdCommandContext, q: RouteQuery): BirdReply {
  const nowMs = ctx.backend.status().nowMs;
  const knownProtocols = new Set<string>([...familyNeighbors(ctx).map((n) => n.name), ...(ctx.builtinProtocols ? BUILTIN_PROTOCOL_NAMES : [])]);
  if (q.protocol !== null && !knownProtocols.has(q.protocol)) return single(Reply.PARSE_ERROR, `${q.protocol} is not a protocol`);
  // wren keeps no routes rejected by import policy, so BIRD's `filtered` view is always empty.
  if (q.filtered) return q.count === 'only' ? single(Reply.ROUTE_COUNT, '0 of 0 routes for 0 networks') : ok();

  const routes = familyRoutes(ctx);
  let nets = groupByPrefix(routes);
  const target = q.net ?? q.forAddr;
  if (target !== null) {
    let best: { prefix: string; len: number } | null = null;
    for (const prefix of nets.keys()) {
      const p = parsePrefix(prefix);
      if (p === null) continue;
      const hit = q.net !== null ? samePrefix(p, target) : prefixContains(p, target) && p.len <= target.len;
      if (hit && (best === null || p.len > best.len)) best = { prefix, len: p.len };
    }
    if (best === null) return single(Reply.NETWORK_NOT_IN_TABLE, 'Network not in table');
    nets = new Map([[best.prefix, nets.get(best.prefix) ?? []]]);
  }
  let routeCounter = 0;
  let shown = 0;
  const selected: RoutePath[][] = [];
  for (const paths of nets.values()) {
    routeCounter += paths.length;
    const keep = orderPathsForDisplay(paths).filter(
      (p) => (!q.primary || p.best) && (q.protocol === null || routeProtocolName(p) === q.protocol),
    );
    shown += keep.length;
    if (keep.length > 0) selected.push(keep);
  }
  const countLine = { code: Reply.ROUTE_COUNT, text: `${shown} of ${routeCounter} routes for ${nets.size} networks` };
  if (q.count === 'only') return { lines: [], final: countLine };
  function* lines(): Generator<BirdLine> {
    for (const paths of selected) {
      let first = true;
      for (const p of paths) {
        yield { code: Reply.ROUTE_LIST, text: routeRow(p, nowMs, first) };
        first = false;
        if (q.detail) yield* routeDetailLines(p);
      }
    }
  }
  return { lines: lines(), final: q.count === 'stats' ? countLine : { code: Reply.OK, text: '' } };
}

function protoAction(ctx: BirdCommandContext, action: 'enable' | 'disable' | 'restart', target: ProtoTarget): BirdReply {
  const neighbors = familyNeighbors(ctx);
  const builtins: readonly string[] = ctx.builtinProtocols ? BUILTIN_PROTOCOL_NAMES : [];
  const names = [...builtins, ...neighbors.map((n) => n.name)];
  let selected: string[];
  if (target.kind === 'all') selected = neighbors.map((n) => n.name);
  else if (target.kind === 'name') {
    if (!names.includes(target.name)) return single(Reply.INVALID_SYMBOL, `${target.name} is not a protocol`);
    selected = [target.name];
  } else {
    // A pattern acts on the BGP protocols it matches; the built-in rows are not wren's to stop.
    selected = neighbors.map((n) => n.name).filter((name) => birdPatternMatch(target.pattern, name));
    if (selected.length === 0) return single(Reply.NO_PROTOCOLS_MATCH, 'No protocols match');
  }
  const out: BirdLine[] = [];
  for (const name of selected) {
    const n = neighbors.find((x) => x.name === name);
    if (n === undefined) {
      out.push({ code: Reply.ACTION_FAILED, text: `${name}: built-in protocol, cannot ${action} it in wren` });
      continue;
    }
    if (action === 'disable' && !n.enabled) {
      out.push({ code: Reply.ALREADY_DISABLED, text: `${name}: already disabled` });
      continue;
    }
    if (action === 'enable' && n.enabled) {
      out.push({ code: Reply.ALREADY_ENABLED, text: `${name}: already enabled` });
      continue;
    }
    if (action === 'restart' && !n.enabled) {
      out.push({ code: Reply.ALREADY_DISABLED, text: `${name}: already disabled` });
      continue;
    }
    const r = ctx.backend.neighborAction(name, action === 'restart' ? 'reset' : action);
    if (!r.ok) {
      out.push({ code: Reply.ACTION_FAILED, text: `${name}: ${r.error}` });
      continue;
    }
    const code = action === 'disable' ? Reply.DISABLED : action === 'enable' ? Reply.ENABLED : Reply.RESTARTED;
    out.push({ code, text: `${name}: ${action === 'disable' ? 'disabled' : action === 'enable' ? 'enabled' : 'restarted'}` });
  }
  return ok(out);
}

/**
 * `reload [in|out] X`: a BGP protocol that is up gets a route refresh (in: ROUTE-REFRESH to the
 * peer, RFC 2918; out: our Adj-RIB-Out sent again; neither word: both, as BIRD does) and
 * `0015-X: reloading`; one that is not up is passed over without a line, as BIRD 1.6 does; one
 * whose peer did not negotiate Route Refresh, and the built-in rows, get `8006-X: reload failed`.
 */
function protoReload(ctx: BirdCommandContext, direction: RefreshDirection | 'both', target: ProtoTarget): BirdReply {
  const selected = selectProtocols(allProtocols(ctx, false), target);
  if (!Array.isArray(selected)) return selected;
  const neighbors = familyNeighbors(ctx);
  const out: BirdLine[] = [];
  for (const p of selected) {
    const n = neighbors.find((x) => x.name === p.name);
    if (n === undefined) {
      out.push({ code: Reply.ACTION_FAILED, text: `${p.name}: reload failed` });
      continue;
    }
    if (n.state !== 'Established') continue;
    const dirs: RefreshDirection[] = direction === 'both' ? ['in', 'out'] : [direction];
    const failed = dirs.map((d) => ctx.backend.neighborRefresh(n.name, d)).find((r) => !r.ok);
    out.push(failed === undefined ? { code: Reply.RELOADING, text: `${p.name}: reloading` } : { code: Reply.ACTION_FAILED, text: `${p.name}: reload failed` });
  }
  return ok(out);
}

function configErrorReply(head: BirdLine[], errors: readonly string[]): BirdReply {
  const list = errors.length === 0 ? ['configuration error'] : errors;
  const lines = [...head, ...list.slice(0, -1).map((text) => ({ code: Reply.CONFIG_ERROR, text }))];
  return { lines, final: { code: Reply.CONFIG_ERROR, text: list[list.length - 1] ?? '' } };
}

async function configure(ctx: BirdCommandContext, check: boolean, file: string | null): Promise<BirdReply> {
  const status = ctx.backend.status();
  const configFile = status.configFile;
  const head: BirdLine[] = [{ code: Reply.READING_CONFIG, text: `Reading configuration from ${file ?? configFile}` }];
  if (file !== null && file !== configFile) {
    return configErrorReply(head, [`${file}: wren reads only its own configuration file (${configFile})`]);
  }
  if (check) {
    const r = await ctx.backend.checkConfig();
    return r.ok ? { lines: head, final: { code: Reply.CONFIG_OK, text: 'Configuration OK' } } : configErrorReply(head, r.errors);
  }
  if (status.shuttingDown) return single(Reply.RECONFIG_IGNORED_SHUTDOWN, 'Reconfiguration ignored, shutting down');
  const r = await ctx.backend.reload();
  return r.ok ? { lines: head, final: { code: Reply.RECONFIGURED, text: 'Reconfigured' } } : configErrorReply(head, r.errors);
}

const DENIED = single(Reply.ACCESS_DENIED, 'Access denied');

/** Runs one parsed command. `state` is the connection's (restrict and echo are per connection). */
export async function executeBirdCommand(cmd: BirdCommand, ctx: BirdCommandContext, state: BirdSessionState): Promise<BirdReply> {
  switch (cmd.type) {
    case 'error':
      return single(cmd.code, cmd.text);
    case 'show-status': {
      const { lines, final } = statusLines(ctx.backend.status(), ctx.version);
      return { lines, final };
    }
    case 'show-protocols': {
      const selected = selectProtocols(allProtocols(ctx, cmd.all), cmd.target);
      if (!Array.isArray(selected)) return selected;
      return ok(showProtocolLines(selected, cmd.all, ctx.backend.status().nowMs));
    }
    case 'show-memory': {
      const m = ctx.backend.memory();
      return ok([
        { code: Reply.MEMORY, text: 'BIRD memory usage' },
        { code: Reply.MEMORY, text: memoryLine('Routing tables:', m.routingTables) },
        { code: Reply.MEMORY, text: memoryLine('Route attributes:', m.routeAttributes) },
        { code: Reply.MEMORY, text: memoryLine('ROA tables:', 0) },
        { code: Reply.MEMORY, text: memoryLine('Protocols:', m.protocols) },
        { code: Reply.MEMORY, text: memoryLine('Total:', m.total) },
      ]);
    }
    case 'show-route':
      return showRoute(ctx, cmd.query);
    case 'configure':
      if (state.restricted && !cmd.check) return DENIED;
      return configure(ctx, cmd.check, cmd.file);
    case 'configure-nothing':
      // wren never schedules an undo (no `configure timeout`), so there is never anything to confirm.
      return state.restricted ? DENIED : single(Reply.NOTHING_TO_DO, 'Nothing to do');
    case 'proto-action': {
      if (cmd.target.kind === 'name') {
        const name = cmd.target.name;
        const known = familyNeighbors(ctx).some((n) => n.name === name) || (ctx.builtinProtocols && (BUILTIN_PROTOCOL_NAMES as readonly string[]).includes(name));
        if (!known) return single(Reply.INVALID_SYMBOL, `${name} is not a protocol`);
      }
      return state.restricted ? DENIED : protoAction(ctx, cmd.action, cmd.target);
    }
    case 'proto-reload': {
      if (cmd.target.kind === 'name') {
        const name = cmd.target.name;
        const known = familyNeighbors(ctx).some((n) => n.name === name) || (ctx.builtinProtocols && (BUILTIN_PROTOCOL_NAMES as readonly string[]).includes(name));
        if (!known) return single(Reply.INVALID_SYMBOL, `${name} is not a protocol`);
      }
      if (state.restricted) return DENIED;
      return protoReload(ctx, cmd.direction, cmd.target);
    }
    case 'down':
      return state.restricted ? DENIED : { lines: [], final: { code: Reply.SHUTDOWN_ORDERED, text: 'Shutdown requested' }, after: 'shutdown' };
    case 'restrict':
      state.restricted = true;
      return single(Reply.ACCESS_RESTRICTED, 'Access restricted');
    case 'echo':
      state.echo = cmd.on;
      return ok();
  }
}

/**
 * BIRD's line framing (cli_printf): `CCCC-` for a line whose code differs from the previous one,
 * ` ` for a continuation, `CCCC ` for the final line. Unlike BIRD 1.6 the continuation state is
 * reset after each final line (BIRD 2 behaviour), so no reply starts with a bare continuation.
 */
export class BirdFramer {
  private lastReply = -1;

  line(l: BirdLine): string {
    const text = sanitize(l.text);
    const out = l.code === this.lastReply ? ` ${text}\n` : `${String(l.code).padStart(4, '0')}-${text}\n`;
    this.lastReply = l.code;
    return out;
  }

  final(l: BirdLine): string {
    this.lastReply = -1;
    return `${String(l.code).padStart(4, '0')} ${sanitize(l.text)}\n`;
  }
}

/** A newline inside a text (a peer-supplied error string, say) would forge protocol lines. */
function sanitize(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}

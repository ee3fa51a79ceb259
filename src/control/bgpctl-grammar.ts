/**
 * bgpctl's command grammar as a table of tokens (OpenBGPD bgpctl's `struct token` parser): each
 * table lists what may come next, keywords match exactly or by an unambiguous prefix (`sh nei`),
 * typed arguments are validated where they appear, and the help text is generated from the tables.
 */
import { isIP } from 'node:net';
import type { ControlRequest, NeighborAction } from './json-protocol.js';
import type { RefreshDirection } from '../status.js';
import { parsePrefix } from './ip.js';

export type CommandAction = 'show-status' | 'show-neighbors' | 'show-neighbor' | 'show-routes' | 'show-kernel' | 'reload' | 'neighbor-action' | 'log-level';

interface ParseResult {
  action?: CommandAction;
  address?: string;
  prefix?: string;
  level?: string;
  neighborAction?: NeighborAction;
  direction?: RefreshDirection;
}

type Token =
  | { readonly type: 'end' }
  | { readonly type: 'keyword'; readonly word: string; readonly set?: (r: ParseResult) => void; readonly next: readonly Token[] }
  | { readonly type: 'address' | 'prefix' | 'level'; readonly name: string; readonly next: readonly Token[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

const END: readonly Token[] = [{ type: 'end' }];

const T_NEIGHBOR_ACTION: readonly Token[] = [
  { type: 'keyword', word: 'disable', set: (r) => (r.neighborAction = 'disable'), next: END },
  { type: 'keyword', word: 'enable', set: (r) => (r.neighborAction = 'enable'), next: END },
  { type: 'keyword', word: 'reset', set: (r) => (r.neighborAction = 'reset'), next: END },
  {
    type: 'keyword',
    word: 'refresh',
    set: (r) => (r.neighborAction = 'refresh'),
    next: [
      { type: 'end' },
      { type: 'keyword', word: 'in', set: (r) => (r.direction = 'in'), next: END },
      { type: 'keyword', word: 'out', set: (r) => (r.direction = 'out'), next: END },
    ],
  },
];

const T_SHOW: readonly Token[] = [
  { type: 'keyword', word: 'status', set: (r) => (r.action = 'show-status'), next: END },
  { type: 'keyword', word: 'neighbors', set: (r) => (r.action = 'show-neighbors'), next: END },
  { type: 'keyword', word: 'neighbor', set: (r) => (r.action = 'show-neighbor'), next: [{ type: 'address', name: 'ADDRESS', next: END }] },
  { type: 'keyword', word: 'routes', set: (r) => (r.action = 'show-routes'), next: [{ type: 'end' }, { type: 'prefix', name: 'PREFIX', next: END }] },
  { type: 'keyword', word: 'kernel', set: (r) => (r.action = 'show-kernel'), next: END },
];

export const MAIN_TABLE: readonly Token[] = [
  { type: 'keyword', word: 'show', next: T_SHOW },
  { type: 'keyword', word: 'reload', set: (r) => (r.action = 'reload'), next: END },
  {
    type: 'keyword',
    word: 'neighbor',
    set: (r) => (r.action = 'neighbor-action'),
    next: [{ type: 'address', name: 'ADDRESS', next: T_NEIGHBOR_ACTION }],
  },
  { type: 'keyword', word: 'log', next: [{ type: 'keyword', word: 'level', set: (r) => (r.action = 'log-level'), next: [{ type: 'level', name: 'LEVEL', next: END }] }] },
];

function describe(t: Token): string {
  switch (t.type) {
    case 'end':
      return '<end of command>';
    case 'keyword':
      return t.word;
    default:
      return t.name;
  }
}

export type ParsedCommand = { readonly ok: true; readonly action: CommandAction; readonly request: ControlRequest } | { readonly ok: false; readonly error: string };

function toRequest(r: ParseResult): ControlRequest | null {
  switch (r.action) {
    case 'show-status':
      return { command: 'show status' };
    case 'show-neighbors':
      return { command: 'show neighbors' };
    case 'show-neighbor':
      return r.address === undefined ? null : { command: 'show neighbor', args: { address: r.address } };
    case 'show-routes':
      return r.prefix === undefined ? { command: 'show routes' } : { command: 'show routes', args: { prefix: r.prefix } };
    case 'show-kernel':
      return { command: 'show kernel' };
    case 'reload':
      return { command: 'reload' };
    case 'neighbor-action':
      if (r.address === undefined || r.neighborAction === undefined) return null;
      if (r.neighborAction === 'refresh') return { command: 'neighbor', args: { address: r.address, action: 'refresh', direction: r.direction ?? 'in' } };
      return { command: 'neighbor', args: { address: r.address, action: r.neighborAction } };
    case 'log-level':
      return r.level === undefined ? null : { command: 'log level', args: { level: r.level } };
    default:
      return null;
  }
}

/** Walks the token tables over the command words. */
export function parseCommand(words: readonly string[]): ParsedCommand {
  const result: ParseResult = {};
  let table = MAIN_TABLE;
  const seen: string[] = [];
  for (let i = 0; ; i++) {
    const word = words[i];
    if (word === undefined) {
      if (table.some((t) => t.type === 'end')) break;
      const expected = table.map(describe).join(', ');
      return { ok: false, error: `incomplete command '${seen.join(' ')}': expected ${expected}` };
    }
    const keywords = table.filter((t): t is Extract<Token, { type: 'keyword' }> => t.type === 'keyword');
    const exact = keywords.find((t) => t.word === word);
    const prefixed = keywords.filter((t) => t.word.startsWith(word));
    const kw = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
    if (kw !== undefined) {
      kw.set?.(result);
      seen.push(kw.word);
      table = kw.next;
      continue;
    }
    if (prefixed.length > 1) {
      return { ok: false, error: `ambiguous '${word}': could be ${prefixed.map((t) => t.word).join(', ')}` };
    }
    const arg = table.find((t): t is Extract<Token, { type: 'address' | 'prefix' | 'level' }> => t.type === 'address' || t.type === 'prefix' || t.type === 'level');
    if (arg === undefined) {
      const expected = table.map(describe).join(', ');
      return { ok: false, error: `unexpected '${word}'${seen.length > 0 ? ` after '${seen.join(' ')}'` : ''}: expected ${expected}` };
    }
    if (arg.type === 'address') {
      if (isIP(word) === 0) return { ok: false, error: `'${word}' is not an IP address (expected the neighbor's address, e.g. 10.160.105.7)` };
      result.address = word;
    } else if (arg.type === 'prefix') {
      if (isIP(word) === 0 && parsePrefix(word) === null) return { ok: false, error: `'${word}' is not a prefix or address (e.g. 172.18.64.0/26 or 172.18.64.5)` };
      result.prefix = word;
    } else {
      if (!(LOG_LEVELS as readonly string[]).includes(word)) return { ok: false, error: `'${word}' is not a log level (one of ${LOG_LEVELS.join(', ')})` };
      result.level = word;
    }
    seen.push(word);
    table = arg.next;
  }
  const request = toRequest(result);
  if (request === null || result.action === undefined) return { ok: false, error: 'incomplete command' };
  return { ok: true, action: result.action, request };
}

/** Every complete command through the tables (`show routes`, `show routes PREFIX`, ...); the help test checks each is documented. */
export function grammarPaths(table: readonly Token[] = MAIN_TABLE, prefix = ''): string[] {
  const out: string[] = [];
  for (const t of table) {
    if (t.type === 'end') out.push(prefix.trimEnd());
    else out.push(...grammarPaths(t.next, `${prefix}${describe(t)} `));
  }
  return out;
}

/**
 * wren's own control protocol: one JSON object per line each way. Requests name a command and its
 * arguments; every reply is `{ id?, ok: true, result }` or `{ id?, ok: false, error, details? }`.
 * Shared by the daemon side (json-socket.ts) and the client (bgpctl).
 */
import type { DaemonStatus, KernelRouteStatus, NeighborStatus, RefreshDirection, RoutePath } from '../status.js';

export type RequestId = string | number;
export type NeighborAction = 'enable' | 'disable' | 'reset' | 'refresh';

export type ControlRequest =
  | { readonly id?: RequestId; readonly command: 'show status' }
  | { readonly id?: RequestId; readonly command: 'show neighbors' }
  | { readonly id?: RequestId; readonly command: 'show neighbor'; readonly args: { readonly address: string } }
  | { readonly id?: RequestId; readonly command: 'show routes'; readonly args?: { readonly prefix?: string } }
  | { readonly id?: RequestId; readonly command: 'show kernel' }
  | { readonly id?: RequestId; readonly command: 'reload' }
  | {
      readonly id?: RequestId;
      readonly command: 'neighbor';
      /** `direction` only with action refresh (default in). */
      readonly args: { readonly address: string; readonly action: NeighborAction; readonly direction?: RefreshDirection };
    }
  | { readonly id?: RequestId; readonly command: 'log level'; readonly args: { readonly level: string } };

export type CommandName = ControlRequest['command'];

/** Commands that change daemon state; a read-only socket refuses them. */
export const STATE_CHANGING_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['reload', 'neighbor', 'log level']);

export interface NeighborsResult {
  readonly nowMs: number;
  readonly neighbors: readonly NeighborStatus[];
}
export interface NeighborResult {
  readonly nowMs: number;
  readonly neighbor: NeighborStatus;
}
export interface RoutesResult {
  readonly nowMs: number;
  readonly routes: readonly RoutePath[];
}
export interface KernelResult {
  readonly routes: readonly KernelRouteStatus[];
}
export interface ReloadResult {
  readonly changes: readonly string[];
}
export interface NeighborActionResult {
  readonly name: string;
  readonly address: string;
  readonly action: NeighborAction;
  readonly direction?: RefreshDirection;
  readonly message: string;
}
export interface LogLevelResult {
  readonly level: string;
}

/** What each command's `result` holds. */
export interface ResultMap {
  'show status': DaemonStatus;
  'show neighbors': NeighborsResult;
  'show neighbor': NeighborResult;
  'show routes': RoutesResult;
  'show kernel': KernelResult;
  'reload': ReloadResult;
  'neighbor': NeighborActionResult;
  'log level': LogLevelResult;
}

export type ControlResponse<C extends CommandName = CommandName> =
  | { readonly id?: RequestId; readonly ok: true; readonly result: ResultMap[C] }
  | { readonly id?: RequestId; readonly ok: false; readonly error: string; readonly details?: readonly string[] };

const COMMANDS: ReadonlySet<string> = new Set<CommandName>([
  'show status',
  'show neighbors',
  'show neighbor',
  'show routes',
  'show kernel',
  'reload',
  'neighbor',
  'log level',
]);

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Validates a decoded request; returns an error string for anything malformed. */
export function validateRequest(raw: unknown): ControlRequest | { readonly error: string; readonly id?: RequestId } {
  if (!isRecord(raw)) return { error: 'request must be a JSON object' };
  const idRaw = raw['id'];
  const id: RequestId | undefined = typeof idRaw === 'string' || typeof idRaw === 'number' ? idRaw : undefined;
  const withId = id === undefined ? {} : { id };
  const fail = (error: string): { error: string; id?: RequestId } => ({ error, ...withId });
  if (idRaw !== undefined && id === undefined) return fail('"id" must be a string or a number');
  const command = raw['command'];
  if (typeof command !== 'string') return fail('missing "command"');
  if (!COMMANDS.has(command)) return fail(`unknown command "${command}"`);
  const args = raw['args'];
  if (args !== undefined && !isRecord(args)) return fail('"args" must be an object');
  const str = (key: string): string | undefined => {
    const v = args?.[key];
    return typeof v === 'string' ? v : undefined;
  };
  switch (command as CommandName) {
    case 'show status':
      return { ...withId, command: 'show status' };
    case 'show neighbors':
      return { ...withId, command: 'show neighbors' };
    case 'show kernel':
      return { ...withId, command: 'show kernel' };
    case 'reload':
      return { ...withId, command: 'reload' };
    case 'show neighbor': {
      const address = str('address');
      if (address === undefined) return fail('"show neighbor" needs args.address');
      return { ...withId, command: 'show neighbor', args: { address } };
    }
    case 'show routes': {
      const prefix = str('prefix');
      if (args?.['prefix'] !== undefined && prefix === undefined) return fail('args.prefix must be a string');
      return { ...withId, command: 'show routes', ...(prefix === undefined ? {} : { args: { prefix } }) };
    }
    case 'neighbor': {
      const address = str('address');
      const action = str('action');
      if (address === undefined) return fail('"neighbor" needs args.address');
      if (action !== 'enable' && action !== 'disable' && action !== 'reset' && action !== 'refresh') {
        return fail('args.action must be enable, disable, reset or refresh');
      }
      const direction = str('direction');
      if (args?.['direction'] !== undefined) {
        if (action !== 'refresh') return fail('args.direction is only for action refresh');
        if (direction !== 'in' && direction !== 'out') return fail('args.direction must be in or out');
        return { ...withId, command: 'neighbor', args: { address, action, direction } };
      }
      return { ...withId, command: 'neighbor', args: { address, action } };
    }
    case 'log level': {
      const level = str('level');
      if (level === undefined) return fail('"log level" needs args.level');
      return { ...withId, command: 'log level', args: { level } };
    }
  }
}

// Can this machine run lab tests? Root, working `ip netns`, and the daemons a test needs.
// A skipped test counts as a defect in this project, so under CI a missing tool is a failure.
import { run } from './exec.js';
import { NS_PREFIX } from './names.js';
import type { DaemonKind } from './paths.js';
import { programsFor, which } from './paths.js';

export interface Availability {
  readonly ok: boolean;
  /** Why not, one line per missing piece. */
  readonly reasons: readonly string[];
}

let netnsProbe: Promise<string | undefined> | undefined;

/** Creating and deleting a namespace is the only real proof that netns works here. Cached. */
function probeNetns(): Promise<string | undefined> {
  netnsProbe ??= (async () => {
    const name = `${NS_PREFIX}probe${process.pid.toString(36)}`;
    try {
      await run('ip', ['netns', 'add', name]);
      await run('ip', ['netns', 'del', name]);
      return undefined;
    } catch (err) {
      return `ip netns does not work: ${(err as Error).message.split('\n')[0] ?? ''}`;
    }
  })();
  return netnsProbe;
}

/** Check for root, `ip netns` and the programs of the given daemon kinds. */
export async function labAvailable(kinds: readonly DaemonKind[] = []): Promise<Availability> {
  const reasons: string[] = [];
  if (process.getuid?.() !== 0) reasons.push('not running as root');
  if (which('ip') === undefined) reasons.push('iproute2 (`ip`) not found');
  else if (reasons.length === 0) {
    const r = await probeNetns();
    if (r !== undefined) reasons.push(r);
  }
  for (const k of kinds) {
    const progs = programsFor(k);
    if (progs instanceof Error) {
      reasons.push(progs.message);
      continue;
    }
    for (const p of progs) if (which(p) === undefined) reasons.push(`${k}: ${p} not found`);
  }
  return { ok: reasons.length === 0, reasons };
}

/** The part of a tap Test this library uses (kept structural so it does not depend on tap's types). */
export interface TapLike {
  fail(message: string): unknown;
  comment(...args: unknown[]): unknown;
  teardown(fn: () => unknown): unknown;
  passing(): boolean;
}

/**
 * True when the lab can run. Otherwise records a failure (always under CI=true; elsewhere too,
 * unless WREN_LAB_OPTIONAL=1, where it only comments) and returns false so the test can return.
 */
export async function requireLab(t: TapLike, kinds: readonly DaemonKind[] = []): Promise<boolean> {
  const a = await labAvailable(kinds);
  if (a.ok) return true;
  const msg = `lab not available: ${a.reasons.join('; ')}`;
  if (process.env['CI'] !== 'true' && process.env['WREN_LAB_OPTIONAL'] === '1') t.comment(`${msg} (WREN_LAB_OPTIONAL=1: not run)`);
  else t.fail(msg);
  return false;
}

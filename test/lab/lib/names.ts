// Names of lab namespaces, and the sweep of namespaces left behind by crashed runs.
//
// A namespace is named `wl<pid:5><tag:1>-<host>`: `wl` marks it as ours, the pid (base 36, padded)
// says which process owns it, so a sweep can tell a crashed run (dead pid) from a parallel one (tap
// runs test files at once), and one tag character tells apart several labs of one process.
// With host names of at most 6 characters the whole name stays within 15 characters, so it is also
// usable as an interface name.
import { statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { run, runSyncQuiet } from './exec.js';

export const NS_PREFIX = 'wl';
const NAME_RE = /^wl([0-9a-z]{5})([0-9a-z])-[a-z0-9]+$/;
const TAGS = '0123456789abcdefghijklmnopqrstuvwxyz';

let nextTag = randomInt(TAGS.length);

/** A fresh run id for a new lab of this process, e.g. `wl02n9xk`. */
export function newRunId(): string {
  const tag = TAGS[nextTag % TAGS.length] ?? '0';
  nextTag += 1;
  return `${NS_PREFIX}${process.pid.toString(36).padStart(5, '0').slice(-5)}${tag}`;
}

/** Host names are short so `<runId>-<host>` fits in 15 characters. */
export function checkHostName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(name)) {
    throw new Error(`lab host name ${JSON.stringify(name)} must be 1-6 of [a-z0-9], starting with a letter`);
  }
}

/** The pid encoded in one of our namespace names, or undefined for a name that is not ours. */
export function ownerPid(nsName: string): number | undefined {
  const m = NAME_RE.exec(nsName);
  return m?.[1] === undefined ? undefined : parseInt(m[1], 36);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but is not ours to signal: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every network namespace name on the machine (`ip netns list` prints "name (id: N)"). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return parseNetnsList(stdout);
}

export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/**
 * Kill every process inside a namespace and delete it. Synchronous so the exit handler can use it.
 * Killing first matters: a daemon left in a deleted namespace keeps running and keeps its sockets.
 */
export function destroyNamespaceSync(ns: string): void {
  for (let i = 0; i < 3; i++) {
    const pids = parsePids(runSyncQuiet('ip', ['netns', 'pids', ns]));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  runSyncQuiet('ip', ['netns', 'del', ns]);
}

export function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map((s) => Number(s))
    .filter((pid) => pid !== process.pid);
}

export interface SweepOptions {
  /** Only sweep namespaces at least this old (default 10 s), as a guard against pid reuse races. */
  readonly minAgeMs?: number;
}

/**
 * Delete namespaces named by a previous lab whose owning process is dead (a crashed or killed
 * run), with the processes still inside them. Namespaces of live processes, including parallel
 * test files, are left alone. Returns the names swept.
 */
export async function sweepStale(opts: SweepOptions = {}): Promise<string[]> {
  const minAgeMs = opts.minAgeMs ?? 10_000;
  const swept: string[] = [];
  let names: string[];
  try {
    names = await listNamespaces();
  } catch {
    return swept;
  }
  for (const ns of names) {
    const pid = ownerPid(ns);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    let ageMs = Infinity;
    try {
      ageMs = Date.now() - statSync(`/run/netns/${ns}`).mtimeMs;
    } catch {
      // no file: age unknown, treat as old
    }
    if (ageMs < minAgeMs) continue;
    destroyNamespaceSync(ns);
    swept.push(ns);
  }
  return swept;
}

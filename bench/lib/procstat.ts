/** CPU time and resident memory of processes, from /proc (Linux). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 0;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on every Linux we run on). */
export function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process in seconds (fields 14 and 15 of /proc/<pid>/stat); 0 if gone. */
export function cpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): utime is field 14 -> rest[11], stime field 15 -> rest[12].
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** VmRSS of a process in bytes (/proc/<pid>/status); 0 if gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

export interface ProcSample {
  readonly cpuSec: number;
  readonly rss: number;
  readonly atMs: number;
}

/** Summed over a set of processes (a receiver may be several: FRR is zebra + bgpd). */
export function sample(pids: readonly number[]): ProcSample {
  let cpu = 0;
  let rss = 0;
  for (const p of pids) {
    cpu += cpuSeconds(p);
    rss += rssBytes(p);
  }
  return { cpuSec: cpu, rss, atMs: performance.timeOrigin + performance.now() };
}

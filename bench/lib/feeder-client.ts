/**
 * Runs bench/feeder.ts (its CLI, --control) inside a lab namespace and talks to it in JSON lines:
 * commands on stdin, events (with wall-clock times) on stdout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createWriteStream } from 'node:fs';
import { repoRoot } from '../../test/lab/lib/paths.js';

export interface FeederEvent {
  readonly ev: string;
  readonly t: number;
  readonly [k: string]: unknown;
}

export class FeederClient {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting: { ev: string; resolve: (e: FeederEvent) => void; reject: (e: Error) => void }[] = [];
  readonly events: FeederEvent[] = [];
  readonly drops: FeederEvent[] = [];
  private exited = false;
  readonly exitPromise: Promise<void>;

  constructor(ns: string, args: readonly string[], logFile: string) {
    const script = join(repoRoot(), 'dist/bench/feeder.js');
    const log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn('ip', ['netns', 'exec', ns, 'node', '--max-old-space-size=8192', script, ...args, '--control'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => {
      log.write(`${line}\n`);
      let e: FeederEvent;
      try {
        e = JSON.parse(line) as FeederEvent;
      } catch {
        return;
      }
      this.events.push(e);
      if (e.ev === 'drop') this.drops.push(e);
      if (e.ev === 'error') {
        const w = this.waiting.shift();
        w?.reject(new Error(`feeder: ${String(e['message'])}`));
        return;
      }
      const i = this.waiting.findIndex((w) => w.ev === e.ev);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(e);
    });
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exited = true;
        for (const w of this.waiting.splice(0)) w.reject(new Error(`feeder exited (${String(code)}) while waiting for ${w.ev}`));
        log.end();
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Wait for the next event of a kind (events already seen are not replayed). */
  next(ev: string, timeoutMs = 600_000): Promise<FeederEvent> {
    if (this.exited) return Promise.reject(new Error(`feeder has exited; no ${ev}`));
    return new Promise<FeederEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`feeder: no ${ev} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        ev,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Send a command and wait for its answer event. */
  async call(cmd: string, ev: string, timeoutMs = 600_000, extra: Record<string, unknown> = {}): Promise<FeederEvent> {
    const p = this.next(ev, timeoutMs);
    this.send({ cmd, ...extra });
    return p;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.send({ cmd: 'quit' });
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exitPromise;
    clearTimeout(t);
  }
}

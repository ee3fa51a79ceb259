// A long-running program inside a namespace (a BGP daemon, wren itself, tshark) with its output
// in files, so a failing test can show the logs and nothing is lost when the pipe would fill up.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nsArgv } from './exec.js';
import { StopWaiting, waitFor } from './wait.js';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Directory for `<name>.stdout` / `<name>.stderr`. */
  readonly dir: string;
  /** Base name of the output files and the name in messages (default: the command's basename). */
  readonly name?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export class LabProcess {
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  /** Use Host.spawn(); this constructor starts the process right away. */
  constructor(
    readonly ns: string,
    readonly cmd: string,
    readonly args: readonly string[],
    opts: SpawnOptions,
  ) {
    const name = opts.name ?? cmd.split('/').pop() ?? cmd;
    this.stdoutPath = join(opts.dir, `${name}.stdout`);
    this.stderrPath = join(opts.dir, `${name}.stderr`);
    const out = openSync(this.stdoutPath, 'a');
    const err = openSync(this.stderrPath, 'a');
    try {
      // `ip netns exec` execs the program in place, so child.pid is the program itself and
      // signals reach it directly.
      this.child = spawn('ip', nsArgv(ns, cmd, args), {
        stdio: ['ignore', out, err],
        env: opts.env ?? process.env,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', (e) => {
        this.exitInfo = { code: null, signal: null };
        process.emitWarning(`lab process ${cmd} failed to start: ${e.message}`);
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Let this process outlive ours (the event loop no longer waits for it). */
  unref(): void {
    this.child.unref();
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How it exited, or undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  stdout(): string {
    return readQuiet(this.stdoutPath);
  }

  stderr(): string {
    return readQuiet(this.stderrPath);
  }

  /** stdout and stderr together, for failure messages. */
  output(): string {
    return `--- ${this.stdoutPath}\n${this.stdout()}--- ${this.stderrPath}\n${this.stderr()}`;
  }

  /** Send a signal; false when the process is already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.child.pid === undefined) return false;
    try {
      process.kill(this.child.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within graceMs. */
  async stop(graceMs = 3000): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.signal('SIGTERM');
    const done = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    if (done) return done;
    return this.kill();
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Wait until stdout or stderr matches `re`; fails early if the process exits first. */
  async waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return waitFor(
      () => {
        const m = re.exec(this.stdout()) ?? re.exec(this.stderr());
        if (m) return m;
        if (!this.running) throw new StopWaiting(`${this.cmd} exited (${JSON.stringify(this.exitInfo)}) before printing ${re}\n${this.output()}`);
        return undefined;
      },
      { timeoutMs, intervalMs: 100, what: `${re} in the output of ${this.cmd}` },
    );
  }

  /** Synchronous SIGKILL for the exit handler. */
  killSync(): void {
    this.signal('SIGKILL');
  }
}

function readQuiet(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

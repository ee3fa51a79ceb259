// Running short commands (ip, birdc, gobgp, vtysh, tshark -r) and collecting their output.
// Long-running programs go through process.ts instead.
import { execFile, execFileSync } from 'node:child_process';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status; null when the command was killed by a signal (e.g. the timeout). */
  readonly code: number | null;
}

export interface ExecOptions {
  /** Kill the command after this long (default 20 s) so a hung CLI cannot hang a test. */
  readonly timeoutMs?: number;
  /** Return a non-zero exit as a result instead of throwing. */
  readonly allowFail?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string;
}

export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    super(
      `command failed (exit ${String(result.code)}): ${argv.join(' ')}\n` +
        `${result.stderr.trim()}${result.stdout.trim() ? `\nstdout: ${result.stdout.trim().slice(0, 2000)}` : ''}`,
    );
  }
}

/** Run a command and wait for it; throws ExecError on a non-zero exit unless allowFail. */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      [...args],
      {
        timeout: opts.timeoutMs ?? 20_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        env: opts.env ?? process.env,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      },
      (err, stdout, stderr) => {
        let code: number | null = 0;
        if (err) {
          // execFile reports a spawn failure (ENOENT) with a string code, an exit with a number.
          const c = (err as NodeJS.ErrnoException & { code?: unknown }).code;
          code = typeof c === 'number' ? c : null;
          if (typeof c === 'string') stderr = `${stderr}${err.message}`;
        }
        const result: ExecResult = { stdout, stderr, code };
        if (code !== 0 && !opts.allowFail) reject(new ExecError([cmd, ...args], result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** argv that runs `cmd args` inside network namespace `ns`. */
export function nsArgv(ns: string, cmd: string, args: readonly string[]): string[] {
  return ['netns', 'exec', ns, cmd, ...args];
}

/** Run a command inside a network namespace. */
export function runIn(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', nsArgv(ns, cmd, args), opts);
}

/**
 * Synchronous variant for the process-exit safety net, where nothing asynchronous can run any more.
 * Never throws: the safety net must get as far as it can.
 */
export function runSyncQuiet(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

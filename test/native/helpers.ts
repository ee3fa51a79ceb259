/**
 * Shared bits of the native addon tests: running a TypeScript child under the same loader as
 * the test (tap's), and a datagram receiver (Node cannot open AF_UNIX datagram sockets).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface TapLike {
  teardown(fn: () => void | Promise<void>): void;
}

/** argv to run a sibling .ts file (from source under tap, or the compiled .js from dist). */
export function tsChildArgv(file: string): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  if (import.meta.url.endsWith('.js')) return [process.execPath, '--enable-source-maps', `${here}${file.replace(/\.ts$/, '.js')}`];
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  return [process.execPath, ...loader, `${here}${file}`];
}

export interface LineChild {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  send(line: string): void;
  exited(): Promise<number | null>;
}

/** Spawn a child printing JSON lines; killed in teardown if still running. */
export function spawnLines(t: TapLike, cmd: string, args: readonly string[]): LineChild {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let exitCode: number | null | undefined;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exitP = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      exitCode = code;
      for (const w of waiters) w();
      r(code);
    }),
  );
  t.teardown(() => {
    if (exitCode === undefined && child.pid !== undefined) child.kill('SIGKILL');
  });
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      lines.push({ text: l });
    }
    for (const w of waiters) w();
  });
  return {
    child,
    lines,
    send: (line) => child.stdin!.write(line + '\n'),
    exited: () => exitP,
    waitFor(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (hit !== undefined) {
            done();
            resolve(hit);
          } else if (exitCode !== undefined) {
            done();
            reject(new Error(`child exited (${String(exitCode)}) first; stderr:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out; lines so far: ${JSON.stringify(lines)}; stderr:\n${stderr}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * A python3 AF_UNIX datagram receiver bound to `address` (a path, or '@name' for the abstract
 * namespace). Prints {"ready":true}, then one JSON line per datagram received.
 */
export const DGRAM_RECEIVER_PY = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print(json.dumps({"ready": True}), flush=True)
s.settimeout(20)
while True:
    try:
        data = s.recv(65536)
    except socket.timeout:
        break
    print(json.dumps({"data": data.decode("utf-8", "replace")}), flush=True)
`;

/**
 * systemd integration (sd_notify(3) protocol, for Type=notify units): READY=1 once bgpd listens,
 * RELOADING=1 + MONOTONIC_USEC at the start of a reload and READY=1 after it, STOPPING=1 when a
 * stop begins, STATUS= lines for `systemctl status`, and WATCHDOG=1 pings at half of
 * $WATCHDOG_USEC.
 *
 * The pings come from a timer on the event loop, on purpose: if the loop is blocked (a runaway
 * batch, a deadlock in a callback), the pings stop and systemd restarts bgpd (WatchdogSec=).
 *
 * Node has no unix datagram sockets, so the datagram goes through the native addon
 * (src/native.ts). Without $NOTIFY_SOCKET (not started by systemd, or Type=simple) everything
 * here is a no-op; if the addon cannot be loaded, that is logged once and bgpd runs on without
 * notifications.
 */
import type { Logger } from 'pino';
import { sdNotify } from './native.js';

/** Sends one notification datagram; throws on failure. */
export type NotifySend = (message: string, socketPath: string) => void;

export interface SystemdNotifierOptions {
  readonly logger: Logger;
  /** Default process.env: NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default process.pid (compared with WATCHDOG_PID). */
  readonly pid?: number;
  /** Default: the native addon's sdNotify. */
  readonly send?: NotifySend;
  /** CLOCK_MONOTONIC in microseconds (default: process.hrtime, which libuv reads from CLOCK_MONOTONIC). */
  readonly monotonicUsec?: () => bigint;
}

const nativeSend: NotifySend = (message, socketPath) => {
  sdNotify(message, socketPath);
};

/** STATUS= text must be one line. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * The watchdog interval in microseconds, or null when the watchdog is off for this process
 * (sd_watchdog_enabled(3): WATCHDOG_USEC set and positive, WATCHDOG_PID absent or ours).
 */
export function watchdogUsec(env: NodeJS.ProcessEnv, pid: number): number | null {
  const raw = env['WATCHDOG_USEC'];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  const usec = Number(raw);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const wpid = env['WATCHDOG_PID'];
  if (wpid !== undefined && wpid !== '' && wpid !== String(pid)) return null;
  return usec;
}

export class SystemdNotifier {
  /** The notification socket, or null (every method is then a no-op). */
  readonly socketPath: string | null;
  /** WATCHDOG_USEC when the watchdog applies to this process, else null. */
  readonly watchdogUsec: number | null;
  private readonly log: Logger;
  private readonly send: NotifySend;
  private readonly monotonic: () => bigint;
  private broken = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: SystemdNotifierOptions) {
    const env = opts.env ?? process.env;
    const path = env['NOTIFY_SOCKET'];
    this.socketPath = path === undefined || path === '' ? null : path;
    this.watchdogUsec = this.socketPath === null ? null : watchdogUsec(env, opts.pid ?? process.pid);
    this.log = opts.logger;
    this.send = opts.send ?? nativeSend;
    this.monotonic = opts.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  }

  get enabled(): boolean {
    return this.socketPath !== null && !this.broken;
  }

  /** Send one notification (lines joined by newlines). False when nothing was sent. */
  notify(lines: readonly string[]): boolean {
    if (this.socketPath === null || this.broken) return false;
    const message = lines.join('\n');
    try {
      this.send(message, this.socketPath);
      return true;
    } catch (err) {
      // Once: a missing addon or an unusable socket will not get better, and the daemon must
      // keep routing. systemd will notice (start timeout / watchdog) if it relied on us.
      this.broken = true;
      this.stopWatchdog();
      this.log.error(
        { event: 'systemd.notify', socket: this.socketPath, err: err instanceof Error ? err.message : String(err) },
        'cannot notify systemd; continuing without sd_notify (no READY/RELOADING/STOPPING/WATCHDOG)',
      );
      return false;
    }
  }

  /** Start WATCHDOG=1 pings at half the interval systemd asked for (no-op without a watchdog). */
  startWatchdog(): void {
    if (this.watchdogUsec === null || this.timer !== null || !this.enabled) return;
    const everyMs = Math.max(1, Math.floor(this.watchdogUsec / 2000));
    this.notify(['WATCHDOG=1']);
    this.timer = setInterval(() => this.notify(['WATCHDOG=1']), everyMs);
    // The pings must not keep a stopping daemon alive.
    this.timer.unref();
    this.log.info({ event: 'systemd.watchdog', intervalMs: everyMs, watchdogUsec: this.watchdogUsec }, `systemd watchdog: ping every ${everyMs} ms`);
  }

  stopWatchdog(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  ready(status?: string): void {
    this.notify(['READY=1', ...(status === undefined ? [] : [`STATUS=${oneLine(status)}`])]);
  }

  /** Reload start; READY=1 (ready()) must follow when it is over, whatever the outcome. */
  reloading(status = 'reloading configuration'): void {
    this.notify(['RELOADING=1', `MONOTONIC_USEC=${this.monotonic().toString()}`, `STATUS=${oneLine(status)}`]);
  }

  stopping(status = 'stopping'): void {
    this.notify(['STOPPING=1', `STATUS=${oneLine(status)}`]);
  }

  status(text: string): void {
    this.notify([`STATUS=${oneLine(text)}`]);
  }

  close(): void {
    this.stopWatchdog();
  }
}

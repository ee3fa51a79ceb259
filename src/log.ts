/**
 * JSON logs on stdout (journald keeps them; `journalctl -u bgpd -o cat | jq` reads them). One
 * root logger; components get children with their own bindings (`peer`, `component`). The level
 * can change at run time (`bgpctl log level debug`).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevelName {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: 'bgpd',
      level: isLogLevel(level) ? level : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

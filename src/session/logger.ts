/**
 * The logging the session driver needs, as an interface: the daemon passes a pino child logger
 * (its methods take (obj, msg)), tests pass a recorder. src/session never imports pino.
 */
export interface SessionLogger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export const silentLogger: SessionLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** A logger that keeps every line, for tests. */
export class RecordingLogger implements SessionLogger {
  readonly lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  debug(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'error', msg, fields });
  }
}

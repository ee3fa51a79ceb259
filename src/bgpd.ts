#!/usr/bin/env node
/**
 * bgpd: the entry point. Reads the config, starts the daemon and its control sockets, and turns
 * signals into reloads and graceful stops. Everything else lives in src/daemon.ts.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadConfig, formatConfigError } from '../config/index.js';
import { parseBgpdArgs, HELP } from './bgpd-args.js';
import { createLogger } from './log.js';
import { Daemon } from './daemon.js';
import { DaemonBackend } from './backend.js';
import { JsonSocketServer } from './control/json-socket.js';
import { BirdSocketServer } from './control/bird-socket.js';
import { MetricsServer } from './metrics.js';
import { SystemdNotifier } from './systemd.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The STATUS= line systemctl shows. */
function readyStatus(d: Daemon): string {
  return `running: router-id ${d.config.routerId}, AS ${d.config.asn}, ${d.peers.size} peer(s) configured`;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseBgpdArgs(argv);
  const version = packageVersion();
  switch (args.mode) {
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return 0;
    case 'version':
      process.stdout.write(`bgpd (wren) ${version}\n`);
      return 0;
    case 'error':
      process.stderr.write(`bgpd: ${args.message}\n`);
      return 2;
    case 'check':
    case 'run':
      break;
  }
  let text: string;
  try {
    text = await readFile(args.config, 'utf8');
  } catch (err) {
    process.stderr.write(`bgpd: cannot read ${args.config}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return 1;
  }
  const loaded = loadConfig(text, args.config);
  for (const w of loaded.warnings) process.stderr.write(`${formatConfigError(w)}\n`);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  if (args.mode === 'check') {
    process.stdout.write('configuration OK\n');
    return 0;
  }

  const config = loaded.config;
  const log = createLogger(config.log.level);
  const daemon = new Daemon({ configFile: args.config, config, logger: log, version });
  const backend = new DaemonBackend(daemon);
  const controlLog = log.child({ component: 'control' });
  const closers: (() => Promise<void>)[] = [];
  // sd_notify: a no-op unless systemd started us with NOTIFY_SOCKET (Type=notify).
  const systemd = new SystemdNotifier({ logger: log.child({ component: 'systemd' }) });
  systemd.startWatchdog();
  daemon.whenStopping((reason) => systemd.stopping(`stopping (${reason})`));
  daemon.whenReloading((phase) => {
    if (phase === 'start') systemd.reloading();
    else systemd.ready(readyStatus(daemon));
  });
  try {
    await daemon.start();
    const json = await JsonSocketServer.listen({ path: config.control.socket, backend, logger: controlLog, mode: config.control.socketMode, ...(config.control.socketGroup === undefined ? {} : { group: config.control.socketGroup }) });
    closers.push(() => json.close());
    if (config.control.readOnlySocket !== undefined) {
      // Show commands only, for monitoring users: always 0666 (config docs, OpenBGPD bgpd -r).
      const ro = await JsonSocketServer.listen({ path: config.control.readOnlySocket, backend, logger: controlLog, readOnly: true, mode: 0o666 });
      closers.push(() => ro.close());
    }
    if (config.control.bird6Socket !== undefined) {
      const bird6 = await BirdSocketServer.listen({ path: config.control.bird6Socket, backend, logger: controlLog, family: 'ipv6', mode: config.control.socketMode, ...(config.control.socketGroup === undefined ? {} : { group: config.control.socketGroup }) });
      closers.push(() => bird6.close());
    }
    if (config.control.birdSocket !== undefined) {
      const bird = await BirdSocketServer.listen({ path: config.control.birdSocket, backend, logger: controlLog, family: 'ipv4', mode: config.control.socketMode, ...(config.control.socketGroup === undefined ? {} : { group: config.control.socketGroup }) });
      closers.push(() => bird.close());
    }
  } catch (err) {
    log.fatal({ event: 'daemon.start', err: String(err) }, `bgpd could not start: ${String(err)}`);
    await daemon.stop('start failed');
    for (const c of closers) await c();
    systemd.close();
    return 1;
  }
  const ml = config.metrics.listen;
  if (ml !== undefined) {
    // Optional and read-only: a metrics port that cannot be bound is an error in the log, not a
    // reason to leave the node without routing.
    try {
      const metrics = await MetricsServer.listen({ address: ml.address, port: ml.port, source: backend, logger: log.child({ component: 'metrics' }) });
      closers.push(() => metrics.close());
    } catch (err) {
      log.error({ event: 'metrics.listen', address: ml.address, port: ml.port, err: String(err) }, `metrics listener not started: ${String(err)}`);
    }
  }
  systemd.ready(readyStatus(daemon));

  const stopped = new Promise<void>((resolve) => daemon.whenStopped(resolve));
  const onStop = (sig: string) => () => void daemon.stop(sig);
  process.on('SIGTERM', onStop('SIGTERM'));
  process.on('SIGINT', onStop('SIGINT'));
  process.on('SIGHUP', () => void daemon.reload());
  await stopped;
  for (const c of closers) await c();
  systemd.close();
  log.info({ event: 'daemon.exit' }, 'bgpd stopped');
  log.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bgpd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

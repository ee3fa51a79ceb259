// Helpers for driver tests over real TCP on loopback, with a manual clock for protocol time.
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { makeSessionConfig } from '../../fsm/config.js';
import type { SessionConfig } from '../../fsm/types.js';
import { Framer } from '../../proto/framer.js';
import { decodeMessage, encodeMessage } from '../../proto/messages.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { Message } from '../../proto/types.js';
import { ManualClock } from '../../src/session/clock.js';
import { RecordingLogger } from '../../src/session/logger.js';
import { SessionManager } from '../../src/session/manager.js';

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sessionConfig(localAsn: number, peerAsn: number, localBgpId: number, over: Partial<SessionConfig> = {}): SessionConfig {
  return makeSessionConfig({
    localAsn,
    peerAsn,
    localBgpId,
    holdTimeSec: 90,
    connectRetrySec: 5,
    connectDelaySec: 0,
    errorWaitMinSec: 5,
    errorWaitMaxSec: 30,
    ...over,
  });
}

export interface Side {
  readonly mgr: SessionManager;
  readonly log: RecordingLogger;
  readonly port: number;
}

export async function side(address: string, clock: ManualClock): Promise<Side> {
  const log = new RecordingLogger();
  const mgr = new SessionManager({ listen: [{ address, port: 0 }], clock, logger: log });
  await mgr.listen();
  return { mgr, log, port: mgr.boundPorts()[0]! };
}

/** A hand-driven BGP speaker on a raw socket: what a broken or scripted peer looks like. */
export class RawPeer {
  readonly received: Message[] = [];
  readonly framer = new Framer();
  closed = false;
  bytes = 0;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.framer.push(chunk);
      for (let f = this.framer.next(); f !== null; f = this.framer.next()) this.received.push(decodeMessage(f, DEFAULT_CONTEXT));
    });
    sock.on('close', () => {
      this.closed = true;
    });
    sock.on('error', () => {});
  }

  static connect(host: string, port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const opts: net.NetConnectOpts = localAddress === undefined ? { host, port } : { host, port, localAddress };
      const sock = net.connect(opts, () => resolve(new RawPeer(sock)));
      sock.once('error', reject);
    });
  }

  send(m: Message): void {
    this.sock.write(encodeMessage(m, DEFAULT_CONTEXT));
  }

  raw(b: Buffer | number[]): void {
    this.sock.write(Buffer.isBuffer(b) ? b : Buffer.from(b));
  }

  notifications(): Extract<Message, { type: 'notification' }>[] {
    return this.received.filter((m): m is Extract<Message, { type: 'notification' }> => m.type === 'notification');
  }

  destroy(): void {
    this.sock.destroy();
  }
}

export { ManualClock };

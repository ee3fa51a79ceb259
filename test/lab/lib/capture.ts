// Packet capture with tshark inside a namespace, and decoding of the BGP messages seen, so tests
// can check what went over the wire (a NOTIFICATION's code and subcode, an OPEN's hold time).
import { join } from 'node:path';
import { run } from './exec.js';
import type { Host } from './lab.js';
import type { LabProcess } from './process.js';

export interface CaptureOptions {
  /** Capture filter (BPF). Default: `tcp port 179`. */
  readonly filter?: string;
  /** Base name of the pcap file in the host's dir (default `cap-<iface>-<n>`). */
  readonly name?: string;
}

/** One BGP message as tshark decoded it. */
export interface BgpWireMessage {
  readonly frame: number;
  /** Seconds since the capture started. */
  readonly time: number;
  readonly src: string;
  readonly dst: string;
  /** 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH. */
  readonly type: number;
  readonly typeName: string;
  /** NOTIFICATION only. */
  readonly errorCode?: number;
  readonly errorSubcode?: number;
  /** OPEN only. */
  readonly holdTime?: number;
  readonly myAs?: number;
  /** tshark's fields for this message, for anything else. */
  readonly fields: Readonly<Record<string, unknown>>;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'OPEN',
  2: 'UPDATE',
  3: 'NOTIFICATION',
  4: 'KEEPALIVE',
  5: 'ROUTE-REFRESH',
};

let counter = 0;

export class Capture {
  private constructor(
    readonly host: Host,
    readonly iface: string,
    /** The pcap file. */
    readonly file: string,
    private readonly proc: LabProcess,
  ) {}

  /** Start tshark and wait until it is capturing (so no early packet is missed). */
  static async start(host: Host, iface: string, opts: CaptureOptions = {}): Promise<Capture> {
    const name = opts.name ?? `cap-${iface}-${counter++}`;
    const file = join(host.dir, `${name}.pcap`);
    const proc = host.spawn('tshark', ['-n', '-i', iface, '-w', file, '-f', opts.filter ?? 'tcp port 179'], { name });
    await proc.waitForOutput(/Capturing on/, 15_000);
    return new Capture(host, iface, file, proc);
  }

  /**
   * Stop capturing (SIGINT lets tshark flush the file). dumpcap hands packets over in blocks every
   * ~250 ms and drops the last, unread block on stop, so wait `settleMs` first or the latest packets
   * (often the very NOTIFICATION a test looks for) are missing.
   */
  async stop(settleMs = 750): Promise<void> {
    if (!this.proc.running) return;
    await new Promise((res) => setTimeout(res, settleMs));
    this.proc.signal('SIGINT');
    const r = await Promise.race([this.proc.exited, new Promise<undefined>((res) => setTimeout(() => res(undefined), 5000))]);
    if (!r) await this.proc.kill();
  }

  /** `tshark -r FILE -V` text (a display filter such as `bgp` optional). */
  async text(displayFilter?: string): Promise<string> {
    return (await run('tshark', ['-n', '-r', this.file, '-V', ...(displayFilter ? ['-Y', displayFilter] : [])])).stdout;
  }

  /** `tshark -r FILE -T json` parsed (one element per frame). */
  async json(displayFilter?: string): Promise<unknown[]> {
    const out = (await run('tshark', ['-n', '-r', this.file, '-T', 'json', ...(displayFilter ? ['-Y', displayFilter] : [])])).stdout;
    const parsed: unknown = out.trim() === '' ? [] : JSON.parse(out);
    return Array.isArray(parsed) ? parsed : [];
  }

  /** Every BGP message in the capture, in order (several per TCP segment are split apart). */
  async bgpMessages(): Promise<BgpWireMessage[]> {
    // Several messages in one segment are repeated "bgp" keys in tshark's JSON, and JSON.parse
    // keeps only the last: a BoRR, UPDATE, EoRR written together would read as the EoRR alone.
    const out = (await run('tshark', ['-n', '-r', this.file, '-T', 'json', '--no-duplicate-keys', '-Y', 'bgp'])).stdout;
    const parsed: unknown = out.trim() === '' ? [] : JSON.parse(out);
    return parseBgpFrames(Array.isArray(parsed) ? parsed : []);
  }

  /** The NOTIFICATIONs in the capture. */
  async notifications(): Promise<BgpWireMessage[]> {
    return (await this.bgpMessages()).filter((m) => m.type === 3);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** tshark nests a message's fields in sub-trees; flatten them to one field map. */
function flatten(o: Obj, into: Obj = {}): Obj {
  for (const [k, v] of Object.entries(o)) {
    if (isObj(v)) flatten(v, into);
    else if (!(k in into)) into[k] = v;
  }
  return into;
}

/** Turn `tshark -T json` frames into BGP messages. Exported for tests of the parser. */
export function parseBgpFrames(frames: readonly unknown[]): BgpWireMessage[] {
  const out: BgpWireMessage[] = [];
  for (const f of frames) {
    if (!isObj(f) || !isObj(f['_source']) || !isObj(f['_source']['layers'])) continue;
    const layers = f['_source']['layers'];
    const frame = isObj(layers['frame']) ? layers['frame'] : {};
    const ip = isObj(layers['ip']) ? layers['ip'] : isObj(layers['ipv6']) ? layers['ipv6'] : {};
    const src = String(ip['ip.src'] ?? ip['ipv6.src'] ?? '');
    const dst = String(ip['ip.dst'] ?? ip['ipv6.dst'] ?? '');
    // One BGP layer per message: an object for one, an array when a segment carries several.
    const bgpLayer = layers['bgp'];
    const msgs = Array.isArray(bgpLayer) ? bgpLayer : bgpLayer === undefined ? [] : [bgpLayer];
    for (const m of msgs) {
      if (!isObj(m)) continue;
      const fields = flatten(m);
      const type = num(fields['bgp.type']);
      if (type === undefined) continue;
      const minorKey = Object.keys(fields).find((k) => k.startsWith('bgp.notify.minor_error'));
      const errorCode = num(fields['bgp.notify.major_error']);
      const errorSubcode = minorKey === undefined ? undefined : num(fields[minorKey]);
      const holdTime = num(fields['bgp.open.holdtime']);
      const myAs = num(fields['bgp.open.myas']);
      out.push({
        frame: num(frame['frame.number']) ?? 0,
        time: num(frame['frame.time_relative']) ?? 0,
        src,
        dst,
        type,
        typeName: TYPE_NAMES[type] ?? `TYPE${type}`,
        ...(errorCode === undefined ? {} : { errorCode }),
        ...(errorSubcode === undefined ? {} : { errorSubcode }),
        ...(holdTime === undefined ? {} : { holdTime }),
        ...(myAs === undefined ? {} : { myAs }),
        fields,
      });
    }
  }
  return out;
}

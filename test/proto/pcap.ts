// Writes a classic libpcap file (https://wiki.wireshark.org/Development/LibpcapFileFormat) holding
// one synthetic TCP connection: Ethernet / IPv4 / TCP with a real three-way handshake, correct
// sequence and acknowledgement numbers and correct IPv4 and TCP checksums, so that tshark
// reassembles BGP messages across segments exactly as it would on a captured session.
import { Buffer } from 'node:buffer';

/** LINKTYPE_ETHERNET (https://www.tcpdump.org/linktypes.html). */
const LINKTYPE_ETHERNET = 1;
const ETH_LEN = 14;
const IPV4_LEN = 20;
const TCP_LEN = 20;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

export interface TcpEndpoint {
  /** IPv4 address as u32. */
  readonly ip: number;
  readonly port: number;
}

export interface TcpSessionOptions {
  /** The side that connects. Default 127.0.0.1:40179. */
  readonly client?: TcpEndpoint;
  /** The side that listens. Default 127.0.0.2:179 (BGP, RFC 4271 §8.2.1). */
  readonly server?: TcpEndpoint;
}

interface Side {
  readonly ep: TcpEndpoint;
  readonly mac: Buffer;
  seq: number;
}

/**
 * A TCP connection to be written as a pcap. `send` appends one segment from one side; the
 * handshake is written by the constructor and a FIN exchange by `finish`.
 */
export class TcpSession {
  private readonly records: Buffer[] = [];
  private readonly client: Side;
  private readonly server: Side;
  private ipId = 1;
  private usec = 0;

  constructor(options: TcpSessionOptions = {}) {
    this.client = { ep: options.client ?? { ip: 0x7f000001, port: 40179 }, mac: Buffer.from('020000000001', 'hex'), seq: 1000 };
    this.server = { ep: options.server ?? { ip: 0x7f000002, port: 179 }, mac: Buffer.from('020000000002', 'hex'), seq: 5000 };
    this.segment(this.client, this.server, TCP_SYN, Buffer.alloc(0), false);
    this.client.seq += 1;
    this.segment(this.server, this.client, TCP_SYN | TCP_ACK, Buffer.alloc(0), true);
    this.server.seq += 1;
    this.segment(this.client, this.server, TCP_ACK, Buffer.alloc(0), true);
  }

  /** One segment of `payload` from the client (true) or the server (false). */
  send(fromClient: boolean, payload: Buffer): void {
    const [from, to] = fromClient ? [this.client, this.server] : [this.server, this.client];
    this.segment(from, to, TCP_PSH | TCP_ACK, payload, true);
    from.seq = (from.seq + payload.length) >>> 0;
  }

  /** The whole file: global header, then every record. */
  finish(): Buffer {
    this.segment(this.client, this.server, TCP_FIN | TCP_ACK, Buffer.alloc(0), true);
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, little-endian file
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(262144, 16); // snaplen
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    return Buffer.concat([header, ...this.records]);
  }

  private segment(from: Side, to: Side, flags: number, payload: Buffer, ack: boolean): void {
    const ipLen = IPV4_LEN + TCP_LEN + payload.length;
    if (ipLen > 0xffff) throw new RangeError(`segment of ${payload.length} octets does not fit one IPv4 packet`);
    const frame = Buffer.alloc(ETH_LEN + ipLen);
    to.mac.copy(frame, 0);
    from.mac.copy(frame, 6);
    frame.writeUInt16BE(0x0800, 12);

    const ip = ETH_LEN;
    frame[ip] = 0x45;
    frame.writeUInt16BE(ipLen, ip + 2);
    frame.writeUInt16BE(this.ipId++ & 0xffff, ip + 4);
    frame.writeUInt16BE(0x4000, ip + 6); // Don't Fragment
    frame[ip + 8] = 64;
    frame[ip + 9] = 6; // TCP
    frame.writeUInt32BE(from.ep.ip, ip + 12);
    frame.writeUInt32BE(to.ep.ip, ip + 16);
    frame.writeUInt16BE(checksum(frame, ip, ip + IPV4_LEN, 0), ip + 10);

    const tcp = ip + IPV4_LEN;
    frame.writeUInt16BE(from.ep.port, tcp);
    frame.writeUInt16BE(to.ep.port, tcp + 2);
    frame.writeUInt32BE(from.seq >>> 0, tcp + 4);
    frame.writeUInt32BE(ack ? to.seq >>> 0 : 0, tcp + 8);
    frame[tcp + 12] = (TCP_LEN / 4) << 4;
    frame[tcp + 13] = flags;
    frame.writeUInt16BE(65535, tcp + 14);
    payload.copy(frame, tcp + TCP_LEN);
    // RFC 793 §3.1: the checksum covers a pseudo header of addresses, protocol and TCP length.
    const pseudo = (from.ep.ip >>> 16) + (from.ep.ip & 0xffff) + (to.ep.ip >>> 16) + (to.ep.ip & 0xffff) + 6 + (TCP_LEN + payload.length);
    frame.writeUInt16BE(checksum(frame, tcp, frame.length, pseudo), tcp + 16);

    const record = Buffer.alloc(16);
    this.usec += 1000;
    record.writeUInt32LE(1700000000 + Math.floor(this.usec / 1e6), 0);
    record.writeUInt32LE(this.usec % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    this.records.push(record, frame);
  }
}

/** The Internet checksum (RFC 1071) of buf[start..end) plus an initial sum. */
function checksum(buf: Buffer, start: number, end: number, initial: number): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if ((end - start) & 1) sum += buf[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

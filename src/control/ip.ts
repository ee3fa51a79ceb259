/**
 * Just enough address arithmetic for the control sockets' `for ADDRESS` (longest match) and prefix
 * arguments. Kept local so src/control does not reach into config/ or rib/ internals.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedAddr {
  readonly v6: boolean;
  readonly value: bigint;
}

export interface ParsedPrefix extends ParsedAddr {
  readonly len: number;
}

export function parseAddr(text: string): ParsedAddr | null {
  if (isIPv4(text)) {
    let v = 0n;
    for (const part of text.split('.')) v = (v << 8n) | BigInt(Number(part));
    return { v6: false, value: v };
  }
  if (isIPv6(text)) {
    let head = text;
    let tail4: bigint | null = null;
    const lastColon = text.lastIndexOf(':');
    const maybe4 = text.slice(lastColon + 1);
    if (maybe4.includes('.')) {
      const p4 = parseAddr(maybe4);
      if (p4 === null || p4.v6) return null;
      tail4 = p4.value;
      head = text.slice(0, lastColon + 1) + '0:0';
    }
    const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
    const l = left === undefined || left === '' ? [] : left.split(':');
    const r = right === undefined || right === '' ? [] : right.split(':');
    const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
    if (groups.length !== 8) return null;
    let v = 0n;
    for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
    if (tail4 !== null) v = (v & ~0xffffffffn) | tail4;
    return { v6: true, value: v };
  }
  return null;
}

export function parsePrefix(text: string): ParsedPrefix | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = parseAddr(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === null || !/^\d{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len > (addr.v6 ? 128 : 32)) return null;
  return { ...addr, len };
}

function mask(v6: boolean, len: number): bigint {
  const bits = v6 ? 128n : 32n;
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(len))) - 1n);
}

export function prefixContains(prefix: ParsedPrefix, addr: ParsedAddr): boolean {
  if (prefix.v6 !== addr.v6) return false;
  const m = mask(prefix.v6, prefix.len);
  return (prefix.value & m) === (addr.value & m);
}

/** Canonical text of a prefix, so `10.0.0.1/8` and `10.0.0.0/8` name the same network. */
export function samePrefix(a: ParsedPrefix, b: ParsedPrefix): boolean {
  if (a.v6 !== b.v6 || a.len !== b.len) return false;
  const m = mask(a.v6, a.len);
  return (a.value & m) === (b.value & m);
}

/**
 * proto/ — the BGP-4 wire codec. Pure: bytes in, typed values out, and back.
 *
 * Owns: framing (framer.ts, header.ts), every message type (open.ts + capabilities.ts, update.ts
 * + attributes.ts + nlri.ts + as4.ts + packer.ts, notification.ts, route-refresh.ts, KEEPALIVE in
 * messages.ts), the typed values (types.ts, prefix.ts), the code points (constants.ts) and the one
 * error registry (errors.ts) with the NOTIFICATION code/subcode/data and RFC 7606 disposition of
 * every malformed case.
 *
 * Must not import: anything from Node but `node:buffer` — no sockets, files, timers, logging or
 * clocks (enforced by the architecture test). Decoders throw only BgpError.
 *
 * Deviations from the RFCs (each also noted where it is enforced):
 * - ROUTE-REFRESH of any subtype with a length other than 23 is an Invalid Message Length error
 *   (RFC 7313 §5 demands it for subtypes 1 and 2; subtype 0 could be longer only with ORF, RFC
 *   5291, which wren never advertises).
 * - OPEN: optional parameters that do not fill the OPEN exactly are an OPEN Message Error /
 *   Unspecific, in either direction (BIRD tolerates trailing octets).
 * - NOTIFICATION Data longer than the message size limit is truncated when sending.
 */
export * from './constants.js';
export * from './errors.js';
export * from './reader.js';
export * from './writer.js';
export * from './prefix.js';
export * from './types.js';
export * from './header.js';
export * from './framer.js';
export * from './capabilities.js';
export * from './open.js';
export * from './notification.js';
export * from './route-refresh.js';
export * from './messages.js';
export * from './nlri.js';
export * from './attributes.js';
export * from './update.js';
export * from './as4.js';
export * from './packer.js';

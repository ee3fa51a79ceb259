/**
 * src/session — the TCP session driver: Peer (one configured peering), SessionManager (listener
 * and routing of accepted sockets), Clock, and the logger interface it needs.
 */
export * from './clock.js';
export * from './logger.js';
export * from './peer.js';
export * from './manager.js';

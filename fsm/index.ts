/** fsm/ public surface (see types.ts for the module's DOC paragraph). */
export * from './types.js';
export * from './fsm.js';
export * from './open-check.js';
export * from './collision.js';
export * from './backoff.js';
export * from './status.js';
export * from './config.js';

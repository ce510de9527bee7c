export * from './view-changes.js';
export * from './payloads.js';
export * from './projectors.js';
export * from './sql-appliers.js';
export * from './memory-applier.js';
export * from './journal.js';
export * from './replay.js';
export * from './verify.js';

export * from './grants.js';
export * from './secrets.js';
export * from './auth-file.js';
export * from './auth-store.js';
export * from './jwt.js';

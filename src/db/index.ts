export * from './database.js';
export * from './statements.js';

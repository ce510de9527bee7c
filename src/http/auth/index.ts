export * from './authentication.js';
export * from './token-route.js';
export * from './visibility.js';
export * from './setup.js';

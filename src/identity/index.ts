export * from './content-address.js';
export * from './dual-digest.js';
export { blake3, blake3Hex, assertNativeBlake3 } from './blake3.js';

export * from './classes.js';
export * from './oci-policies.js';

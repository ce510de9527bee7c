/**
 * @module http/native
 * The native REST API: packages, files, uploads, objects and events, with
 * its OpenAPI document.
 */
export { createNativeRouter, nativeRoutes } from './router.js';
export { buildOpenApiDocument } from './openapi.js';
export type { NativeOptions, NativeRoute } from './route.js';

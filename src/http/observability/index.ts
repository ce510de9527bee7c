/**
 * @module http/observability
 * The HTTP side of observability: request ids and request loggers, the
 * access log, HTTP metrics, `/metrics` (with its authorization hook),
 * `/ready`, and the optional separate metrics listener.
 */
export { createHttpObservability, type HttpObservability, type HttpObservabilityOptions } from './middleware.js';
export { isLoopbackAddress, loopbackWhileOpen, metricsDenied, type MetricsAuthorizer } from './access.js';
export { requestContextOf, requestIdOf, requestLogger, type RequestContext } from './context.js';
export { acceptableRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id.js';
export { methodLabelOf, routeTemplateOf, UNMATCHED_ROUTE, uploadApiOf } from './routes.js';
export { startMetricsServer, type RunningMetricsServer } from './metrics-server.js';

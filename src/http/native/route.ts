/**
 * @module http/native/route
 * The shape of a native route: its OpenAPI description (method, path
 * template, request schemas, responses) and its handler, in one object, so
 * the router and the OpenAPI document are built from the same table.
 */
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Registry } from '../../registry/index.js';
import { ProblemSchema } from './schemas.js';

/** Tunables of the native API (tests shorten them). */
export interface NativeOptions {
  /** Milliseconds between `: keepalive` comments on event streams (default 15 000). */
  readonly keepaliveMs: number;
}

/** Defaults of {@link NativeOptions}. */
export const DEFAULT_NATIVE_OPTIONS: NativeOptions = { keepaliveMs: 15_000 };

/** What a handler receives. */
export interface NativeContext {
  readonly registry: Registry;
  readonly request: Request;
  readonly response: Response;
  /** Who is acting (see `actorOf`). */
  readonly actor: string;
  readonly logger: Logger;
  readonly options: NativeOptions;
}

/** HTTP methods native routes use. */
export type NativeMethod = 'get' | 'head' | 'post' | 'patch' | 'delete';

/** One operation: an OpenAPI path item entry plus its handler. */
export type NativeRoute = RouteConfig & {
  readonly method: NativeMethod;
  /** OpenAPI path template, e.g. `/packages/{id}`. */
  readonly path: string;
  /** Parse a JSON body (with the size limit) before the handler. */
  readonly jsonBody?: boolean;
  readonly handle: (context: NativeContext) => Promise<void>;
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (FIELD_INVALID lists every violation)',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  415: 'Unsupported request content type',
  416: 'Range or offset not satisfiable',
  422: 'A metadata schema or package metadata fails validation (`violations` lists every failure)',
};

/** Problem-document responses for the given statuses. */
export function problems(...statuses: number[]): Record<string, ResponseConfig> {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}

/** `application/json` content of `schema`. */
export function json(schema: z.ZodType) {
  return { 'application/json': { schema } };
}

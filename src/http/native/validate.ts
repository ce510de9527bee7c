/**
 * @module http/native/validate
 * Request validation against the zod schemas of {@link ./schemas.js}: every
 * issue becomes one `{pointer, message}` violation of a 400 `FIELD_INVALID`
 * problem. JSON bodies are parsed with a size limit; malformed JSON is 400
 * `JSON_INVALID`, an oversized body 413 `BODY_TOO_LARGE`.
 */
import express, { type RequestHandler } from 'express';
import type { z } from 'zod';
import { RegistryError } from '../../errors/index.js';
import { JSON_BODY_LIMIT_BYTES } from './schemas.js';

/** One validation failure: where (a JSON pointer into the validated value) and what. */
export interface Violation {
  readonly pointer: string;
  readonly message: string;
}

/** What is being validated, named in the problem's detail. */
export type Subject = 'body' | 'query' | 'path' | 'headers';

/**
 * The value `schema` makes of `input`.
 * @throws RegistryError FIELD_INVALID with `extra.violations` listing every issue.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, subject: Subject): z.output<S> {
  const result = check(schema, input);
  if (result.ok) return result.value;
  throw invalid(subject, result.violations);
}

/** Like {@link validate}, but reports the violations instead of throwing, to merge them with others. */
export function check<S extends z.ZodType>(schema: S, input: unknown): { ok: true; value: z.output<S> } | { ok: false; violations: Violation[] } {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, violations: result.error.issues.flatMap(violationsOf) };
}

/** A FIELD_INVALID error over `violations`. */
export function invalid(subject: Subject, violations: readonly Violation[]): RegistryError {
  const detail = violations.map((violation) => `${violation.pointer || '(root)'}: ${violation.message}`).join('; ');
  return new RegistryError('FIELD_INVALID', `invalid request ${subject}: ${detail}`, { violations });
}

function violationsOf(issue: z.core.$ZodIssue): Violation[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ pointer: pointerOf([...issue.path, key]), message: 'unknown field' }));
  }
  return [{ pointer: pointerOf(issue.path), message: issue.message }];
}

/** RFC 6901 JSON pointer of a zod issue path. */
export function pointerOf(path: readonly PropertyKey[]): string {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

const parseJson = express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: false, type: ['application/json', 'application/*+json'] });

/**
 * Parses a JSON body (at most {@link JSON_BODY_LIMIT_BYTES}) into
 * `request.body`, leaving it undefined when there is no body. A body of any
 * other content type is refused with 415 `MEDIA_TYPE_UNSUPPORTED`.
 */
export const jsonBody: RequestHandler = (request, response, next) => {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (hasBody && !request.is(['application/json', 'application/*+json'])) {
    next(new RegistryError('MEDIA_TYPE_UNSUPPORTED', `the body must be application/json, not ${JSON.stringify(request.headers['content-type'] ?? '')}`));
    return;
  }
  parseJson(request, response, (error?: unknown) => next(error === undefined ? undefined : bodyParserProblem(error)));
};

function bodyParserProblem(error: unknown): unknown {
  const type = (error as { type?: unknown } | null)?.type;
  const message = error instanceof Error ? error.message : String(error);
  switch (type) {
    case 'entity.parse.failed':
      return new RegistryError('JSON_INVALID', `the request body is not valid JSON: ${message}`, undefined, { cause: error });
    case 'entity.too.large':
      return new RegistryError('BODY_TOO_LARGE', `JSON bodies are limited to ${JSON_BODY_LIMIT_BYTES} bytes`, { limit: JSON_BODY_LIMIT_BYTES }, { cause: error });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new RegistryError('MEDIA_TYPE_UNSUPPORTED', message, undefined, { cause: error });
    case 'request.aborted':
    case 'request.size.invalid':
      return new RegistryError('FIELD_INVALID', `the request body ended before it was complete: ${message}`, undefined, { cause: error });
    default:
      return error;
  }
}

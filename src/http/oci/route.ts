/**
 * @module http/oci/route
 * The shape of an OCI route: a path pattern and a handler per method.
 */
import type { Request, Response } from 'express';
import type { Registry } from '../../registry/index.js';

/** What a route handler receives. */
export interface OciContext {
  readonly registry: Registry;
  readonly request: Request;
  readonly response: Response;
  /** The validated repository name, when the route has one. */
  readonly name: string;
  /** The other captured path segment (digest, reference or session id), if any. */
  readonly segment: string;
  /** Who is acting (authentication comes later: everyone is anonymous for now). */
  readonly actor: string;
}

/** One route: a path pattern and a handler per method. */
export interface OciRoute {
  readonly pattern: RegExp;
  readonly methods: Partial<Record<'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', (context: OciContext) => Promise<void>>>;
}


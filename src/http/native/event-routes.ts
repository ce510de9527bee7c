/**
 * @module http/native/event-routes
 * The event log: `GET /events` (a page, optionally long-polling for the
 * next matching commit) and `GET /events/stream` (Server-Sent Events,
 * resumable with `Last-Event-ID`).
 */
import { principalOf } from '../principal.js';
import { requestLogger } from '../observability/context.js';
import { eventVisibility } from '../auth/visibility.js';
import { once } from 'node:events';
import { setInterval, clearInterval } from 'node:timers';
import type { Response } from 'express';
import { disconnectSignal } from './request.js';
import { json, problems, type NativeRoute } from './route.js';
import { EventListQuery, EventPageSchema, EventSchema, EventStreamHeaders, EventStreamQuery } from './schemas.js';
import { validate } from './validate.js';

const TAGS = ['events'];

/** The registry's filter from the query (undefined when nothing narrows). */
function filterOf(query: { event_type?: string | undefined; subject_kind?: string | undefined; subject_id?: string | undefined }) {
  const filter = {
    ...(query.event_type !== undefined ? { eventType: query.event_type } : {}),
    ...(query.subject_kind !== undefined ? { subjectKind: query.subject_kind } : {}),
    ...(query.subject_id !== undefined ? { subjectId: query.subject_id } : {}),
  };
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/** Writes `chunk`, waiting for the socket to drain when its buffer is full. */
async function write(response: Response, chunk: string, signal: AbortSignal): Promise<void> {
  if (!response.write(chunk)) await once(response, 'drain', { signal });
}

export const eventRoutes: NativeRoute[] = [
  {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    summary: 'Events after `since`, long-polling up to `wait` seconds when there are none yet',
    tags: TAGS,
    request: { query: EventListQuery },
    responses: { 200: { description: 'A page of events', content: json(EventPageSchema) }, ...problems(400) },
    handle: async ({ registry, request, response }) => {
      const query = validate(EventListQuery, request.query, 'query');
      const filter = filterOf(query);
      const signal = disconnectSignal(response);
      let events;
      try {
        events =
          query.wait > 0
            ? await registry.waitForEvents(query.since, query.limit, filter, Math.round(query.wait * 1000), signal)
            : await registry.fetchEvents(query.since, query.limit, filter);
      } catch (error) {
        if (signal.aborted) return; // the client left while we waited
        throw error;
      }
      if (signal.aborted) return;
      // Events the caller may not read are skipped, but still advance the cursor.
      const visible = eventVisibility(registry, principalOf(request));
      const shown = [];
      for (const event of events) if (await visible(event)) shown.push(event);
      response.setHeader('Cache-Control', 'no-store');
      response.status(200).json({ events: shown, next_since: events.at(-1)?.sequence ?? query.since });
    },
  },
  {
    method: 'get',
    path: '/events/stream',
    operationId: 'streamEvents',
    summary: 'Server-Sent Events: every matching event after `since` (or Last-Event-ID), then each new one as it commits',
    description: 'Each event is `id: <sequence>`, `event: <event_type>`, `data: <Event JSON>`; a `: keepalive` comment is sent every 15 s.',
    tags: TAGS,
    request: { query: EventStreamQuery, headers: EventStreamHeaders },
    responses: {
      200: { description: 'The stream; each `data:` line is an Event', content: { 'text/event-stream': { schema: EventSchema } } },
      ...problems(400),
    },
    handle: async ({ registry, request, response, logger, options }) => {
      const query = validate(EventStreamQuery, request.query, 'query');
      const { 'last-event-id': lastEventId } = validate(EventStreamHeaders, request.headers, 'headers');
      const since = lastEventId !== undefined ? Number(lastEventId) : query.since;
      const controller = new AbortController();
      const { signal } = controller;
      response.once('close', () => controller.abort());

      response.status(200);
      response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      response.setHeader('Cache-Control', 'no-store');
      response.setHeader('Connection', 'keep-alive');
      response.setHeader('X-Accel-Buffering', 'no');
      response.flushHeaders();
      response.write(`: events after ${since}\n\n`);
      const keepalive = setInterval(() => response.write(': keepalive\n\n'), options.keepaliveMs);
      try {
        const visible = eventVisibility(registry, principalOf(request));
        for await (const event of registry.tailEvents(since, signal, filterOf(query))) {
          if (!(await visible(event))) continue;
          await write(response, `id: ${event.sequence}\nevent: ${event.event_type}\ndata: ${JSON.stringify(event)}\n\n`, signal);
        }
      } catch (error) {
        // Headers are out: a failure can only end the stream; the client resumes with Last-Event-ID.
        if (!signal.aborted) requestLogger(request, logger).warn({ err: error, url: request.originalUrl }, 'event stream failed');
      } finally {
        clearInterval(keepalive);
        controller.abort();
        response.end();
      }
    },
  },
];

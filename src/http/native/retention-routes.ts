/**
 * @module http/native/retention-routes
 * The retention lifecycle of a package: `GET /packages/{id}/retention`,
 * extensions, holds (apply and release) and the audited deletion
 * `DELETE /packages/{id}` (administrators only, eligible packages only).
 */
import { z } from 'zod';
import type { HoldView, RetentionView } from '../../registry/index.js';
import { json, problems, type NativeRoute } from './route.js';
import { EventSchema, PackageIdParams } from './schemas.js';
import { validate } from './validate.js';

const TAGS = ['retention'];
const reason = z.string().min(1).max(4096).openapi({ description: 'Why (recorded in the event)', example: 'legal hold for case 42' });

const HoldSchema = z
  .strictObject({
    id: z.string(),
    reason: z.string(),
    applied_by: z.string(),
    applied_at: z.string(),
    released_by: z.string().nullable(),
    released_at: z.string().nullable(),
    release_reason: z.string().nullable(),
  })
  .openapi('Hold');

const RetentionSchema = z
  .strictObject({
    package_id: z.string(),
    retention_class: z.string(),
    current_expires_at: z.string().nullable(),
    eligible_for_deletion: z.boolean(),
    active_holds: z.number().int(),
    holds: z.array(HoldSchema),
    history: z.array(EventSchema),
  })
  .openapi('Retention');

const ExtensionRequest = z.strictObject({ new_expires_at: z.iso.datetime({ offset: true }).openapi({ description: 'Strictly later than the current expiry' }), reason }).openapi('RetentionExtension');
const HoldRequest = z.strictObject({ reason }).openapi('HoldRequest');
const ReasonRequest = z.strictObject({ reason }).openapi('ReasonRequest');
const HoldParams = z.strictObject({ id: z.string(), hold_id: z.string() });

function renderHold(hold: HoldView): z.infer<typeof HoldSchema> {
  return {
    id: hold.id,
    reason: hold.reason,
    applied_by: hold.appliedBy,
    applied_at: hold.appliedAt,
    released_by: hold.releasedBy,
    released_at: hold.releasedAt,
    release_reason: hold.releaseReason,
  };
}

function renderRetention(view: RetentionView): z.infer<typeof RetentionSchema> {
  return {
    package_id: view.packageId,
    retention_class: view.retentionClass,
    current_expires_at: view.currentExpiresAt,
    eligible_for_deletion: view.eligibleForDeletion,
    active_holds: view.activeHolds,
    holds: view.holds.map(renderHold),
    history: view.history as z.infer<typeof EventSchema>[],
  };
}

export const retentionRoutes: NativeRoute[] = [
  {
    method: 'get',
    path: '/packages/{id}/retention',
    operationId: 'getRetention',
    summary: 'Retention class, expiry, holds, eligibility and the history of retention events',
    tags: TAGS,
    request: { params: PackageIdParams },
    responses: { 200: { description: 'The retention', content: json(RetentionSchema) }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      response.status(200).json(renderRetention(await registry.getRetention(id)));
    },
  },
  {
    method: 'post',
    path: '/packages/{id}/retention/extensions',
    operationId: 'extendRetention',
    summary: 'Extend the expiry to a strictly later instant (v1.retention.extended)',
    tags: TAGS,
    jsonBody: true,
    request: { params: PackageIdParams, body: { content: json(ExtensionRequest) } },
    responses: { 200: { description: 'The retention after the extension', content: json(RetentionSchema) }, ...problems(400, 404, 409) },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const body = validate(ExtensionRequest, request.body, 'body');
      response.status(200).json(renderRetention(await registry.extendRetention(id, body.new_expires_at, body.reason, actor)));
    },
  },
  {
    method: 'post',
    path: '/packages/{id}/retention/holds',
    operationId: 'applyHold',
    summary: 'Place a hold; a held package never becomes eligible for deletion (v1.retention.hold_applied)',
    tags: TAGS,
    jsonBody: true,
    request: { params: PackageIdParams, body: { content: json(HoldRequest) } },
    responses: { 201: { description: 'The hold', content: json(HoldSchema) }, ...problems(400, 404) },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const body = validate(HoldRequest, request.body, 'body');
      response.status(201).json(renderHold(await registry.applyHold(id, body.reason, actor)));
    },
  },
  {
    method: 'delete',
    path: '/packages/{id}/retention/holds/{hold_id}',
    operationId: 'releaseHold',
    summary: 'Release a hold, with a reason (v1.retention.hold_released)',
    tags: TAGS,
    jsonBody: true,
    request: { params: HoldParams, body: { content: json(ReasonRequest) } },
    responses: { 200: { description: 'The retention after the release', content: json(RetentionSchema) }, ...problems(400, 404) },
    handle: async ({ registry, request, response, actor }) => {
      const { id, hold_id: holdId } = validate(HoldParams, request.params, 'path');
      const body = validate(ReasonRequest, request.body, 'body');
      response.status(200).json(renderRetention(await registry.releaseHold(id, holdId, body.reason, actor)));
    },
  },
  {
    method: 'delete',
    path: '/packages/{id}',
    operationId: 'deletePackage',
    summary: 'Delete an eligible package (administrators): its files are unlinked and their bytes go to garbage collection (v1.package.deleted)',
    tags: TAGS,
    jsonBody: true,
    request: { params: PackageIdParams, body: { content: json(ReasonRequest) } },
    responses: { 204: { description: 'Deleted' }, ...problems(400, 404, 409) },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const body = validate(ReasonRequest, request.body, 'body');
      await registry.deletePackage(id, body.reason, actor);
      response.status(204).end();
    },
  },
];

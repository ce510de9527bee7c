/**
 * @module http/native/multipart
 * `multipart/form-data` as an async sequence of parts, one at a time. A file
 * part's stream must be consumed (or abandoned by ending the iteration)
 * before the next part is parsed, so the request body is never buffered:
 * busboy stops reading the request while a file stream is not read.
 */
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { RegistryError } from '../../errors/index.js';

/** A text field. */
export interface FieldPart {
  readonly kind: 'field';
  readonly name: string;
  readonly value: string;
}

/** A file part: its bytes, with the filename and Content-Type it was sent with. */
export interface FilePart {
  readonly kind: 'file';
  readonly name: string;
  readonly filename: string | undefined;
  readonly mediaType: string;
  /** The part's bytes as they arrive; a malformed or cut-off body fails it with FIELD_INVALID. */
  readonly content: AsyncIterable<Uint8Array>;
}

export type Part = FieldPart | FilePart;

/** Limits on the non-file parts of a form. */
const LIMITS = { fieldNameSize: 200, fieldSize: 64 * 1024, fields: 10_000, parts: 20_000, headerPairs: 200 };

/**
 * The parts of the multipart body of `request`, in order.
 * @throws RegistryError MEDIA_TYPE_UNSUPPORTED when the body is not
 *   multipart/form-data; FIELD_INVALID for a malformed form or a part over
 *   the limits.
 */
export async function* multipartParts(request: Request): AsyncGenerator<Part> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, preservePath: true, defParamCharset: 'utf8', limits: LIMITS });
  } catch (error) {
    throw new RegistryError('MEDIA_TYPE_UNSUPPORTED', `the body must be multipart/form-data with a boundary: ${(error as Error).message}`, undefined, { cause: error });
  }
  const queue: Array<FieldPart | { kind: 'file'; part: FilePart; stream: Readable } | { kind: 'error'; error: unknown } | { kind: 'end' }> = [];
  let wake: (() => void) | undefined;
  const push = (item: (typeof queue)[number]): void => {
    queue.push(item);
    wake?.();
  };
  const fail = (detail: string) => (): void => push({ kind: 'error', error: new RegistryError('FIELD_INVALID', detail) });
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated || info.nameTruncated) push({ kind: 'error', error: new RegistryError('FIELD_INVALID', `form field ${JSON.stringify(name)} exceeds ${LIMITS.fieldSize} bytes`) });
    else push({ kind: 'field', name, value });
  });
  parser.on('file', (name, stream, info) => {
    // The stream may fail (a cut-off body) before its consumer starts reading;
    // the failure is then reported by `content` when it is read.
    stream.on('error', () => undefined);
    push({ kind: 'file', stream, part: { kind: 'file', name, filename: info.filename, mediaType: info.mimeType, content: guarded(stream) } });
  });
  parser.on('fieldsLimit', fail(`a form has at most ${LIMITS.fields} fields`));
  parser.on('partsLimit', fail(`a form has at most ${LIMITS.parts} parts`));
  parser.on('error', (error: unknown) => push({ kind: 'error', error: new RegistryError('FIELD_INVALID', `malformed multipart body: ${(error as Error).message}`, undefined, { cause: error }) }));
  parser.on('close', () => push({ kind: 'end' }));
  // A client that goes away mid-body: fail the part being read and the form.
  const onClose = (): void => {
    if (!request.complete) parser.destroy(new Error('the request body ended before the form was complete'));
  };
  request.once('close', onClose);
  request.pipe(parser);

  let ended = false;
  try {
    while (true) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const item = queue.shift()!;
      if (item.kind === 'end') {
        ended = true;
        return;
      }
      if (item.kind === 'error') throw item.error;
      if (item.kind === 'field') {
        yield item;
        continue;
      }
      yield item.part;
      // A file the consumer did not read is skipped, so the next part can come.
      if (!item.stream.readableEnded) item.stream.resume();
    }
  } finally {
    request.off('close', onClose);
    if (!ended) {
      // Stop parsing and let the rest of the body drain; nothing more is stored.
      request.unpipe(parser);
      parser.destroy();
      request.resume();
    }
  }
}

/** The bytes of a file part, with parse failures (truncated or malformed body) as FIELD_INVALID. */
async function* guarded(stream: Readable): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (error) {
    throw new RegistryError('FIELD_INVALID', `malformed multipart body: ${(error as Error).message}`, undefined, { cause: error });
  }
}

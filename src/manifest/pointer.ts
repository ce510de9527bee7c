/**
 * @module manifest/pointer
 * RFC 6901 JSON pointers, used to say *where* in a document a value was
 * refused. Pointers rather than dotted paths because keys may contain any
 * character, including `.` and `/`.
 */

/**
 * Returns `parent` extended by one reference token. `~` and `/` inside the
 * token are escaped (`~0`, `~1`) so the pointer stays unambiguous. The root
 * pointer is the empty string.
 */
export function childPointer(parent: string, token: string | number): string {
  const text = typeof token === 'number' ? String(token) : token.replace(/~/g, '~0').replace(/\//g, '~1');
  return `${parent}/${text}`;
}

/** Renders a pointer for a human message; the root pointer reads as `(root)`. */
export function describePointer(pointer: string): string {
  return pointer === '' ? '(root)' : pointer;
}

/**
 * A one-shot signal for tests that order concurrent steps: `opened`
 * resolves once `open()` has been called (any number of times).
 */
export interface Latch {
  readonly opened: Promise<void>;
  open(): void;
}

/** A new, closed {@link Latch}. */
export function latch(): Latch {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open: () => open() };
}

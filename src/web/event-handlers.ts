/**
 * Event handler IDL attributes (onopen, onmessage, ...) for an EventTarget.
 * https://html.spec.whatwg.org/multipage/webappapis.html#event-handler-attributes
 *
 * The listener is added when a handler is first set and keeps its place among
 * listeners added with addEventListener when the handler is later replaced,
 * as the HTML standard says; setting null removes it.
 */

/** A callable, or (kept as the standard says, never called) any other object; null when unset. */
type Handler = ((this: EventTarget, event: Event) => unknown) | object | null;

export class EventHandlers {
  readonly #target: EventTarget;
  readonly #handlers = new Map<string, { current: Handler; listener: (event: Event) => void }>();

  constructor(target: EventTarget) {
    this.#target = target;
  }

  get(type: string): Handler {
    return this.#handlers.get(type)?.current ?? null;
  }

  set(type: string, value: unknown): void {
    // EventHandler is [LegacyTreatNonObjectAsNull]: a primitive means null, but
    // any object is kept (and read back) even when it cannot be called.
    // https://webidl.spec.whatwg.org/#LegacyTreatNonObjectAsNull
    const handler = (typeof value === 'function' || (typeof value === 'object' && value !== null)) ? (value as Handler) : null;
    const entry = this.#handlers.get(type);
    if (handler === null) {
      if (entry) {
        this.#target.removeEventListener(type, entry.listener);
        this.#handlers.delete(type);
      }
      return;
    }
    if (entry) {
      entry.current = handler;
      return;
    }
    const target = this.#target;
    const created = {
      current: handler,
      listener(event: Event): void {
        const fn = created.current;
        // A handler returning false does not cancel anything for these events (only `error` on window does).
        // A non-callable object is not invoked (a browser would report a TypeError to the page's console).
        if (typeof fn === 'function') Reflect.apply(fn, target, [event]);
      },
    };
    this.#handlers.set(type, created);
    target.addEventListener(type, created.listener);
  }
}

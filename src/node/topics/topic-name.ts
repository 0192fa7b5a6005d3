/**
 * Topic names: the one place that says what a valid name is, so the registry,
 * the hub and every backplane refuse the same inputs with the same errors.
 */

/**
 * Default for `maxTopicBytes`: 256 bytes of UTF-8. Long enough for paths and
 * composite ids ("room/42/typing"), short enough that a name never dominates
 * the memory of a subscription or the size of a Redis key.
 */
export const DEFAULT_MAX_TOPIC_BYTES = 256;

// With the u flag a surrogate pair is one code point, so only a lone half is in Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Throws a TypeError for a non-string or a string that is not well-formed
 * UTF-16 (a lone surrogate would become U+FFFD on the wire and silently merge
 * two topics), and a RangeError for an empty name or one past `maxTopicBytes`.
 */
export function validateTopic(topic: unknown, maxTopicBytes: number = DEFAULT_MAX_TOPIC_BYTES): asserts topic is string {
  if (typeof topic !== 'string') {
    throw new TypeError(`topic must be a string, got ${topic === null ? 'null' : typeof topic}`);
  }
  if (topic.length === 0) throw new RangeError('topic must not be empty');
  // Cheap upper bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (topic.length * 3 > maxTopicBytes) {
    const bytes = Buffer.byteLength(topic, 'utf8');
    if (bytes > maxTopicBytes) {
      throw new RangeError(`topic is ${bytes} bytes of UTF-8, over maxTopicBytes (${maxTopicBytes})`);
    }
  }
  if (LONE_SURROGATE.test(topic)) throw new TypeError('topic must be well-formed UTF-16 (it contains a lone surrogate)');
}

/** Validates a `maxTopicBytes` option: a positive integer (or Infinity). */
export function validateMaxTopicBytes(value: unknown, name = 'maxTopicBytes'): number {
  if (value === undefined) return DEFAULT_MAX_TOPIC_BYTES;
  if (value !== Infinity && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
    throw new RangeError(`${name} must be a positive integer or Infinity, got ${String(value)}`);
  }
  return value as number;
}

/**
 * Runs the argument checks of a method that reports failure through its
 * promise: a throw becomes the returned rejection (undefined when all
 * passed), so callers have one failure path, not a throw and a rejection.
 */
export function rejectIfInvalid(check: () => void): Promise<never> | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Makes glibc keep freed large buffers for reuse instead of returning their
 * pages to the kernel and faulting fresh (zeroed) ones in again.
 *
 * glibc's malloc serves requests of at least its mmap threshold (128 KiB at
 * start) with a fresh mmap and returns them with munmap on free, and it
 * gives the top of its heap back to the kernel (brk) whenever more than its
 * trim threshold (128 KiB at start) is free there. Both thresholds are
 * dynamic: freeing an mmapped chunk larger than the mmap threshold (and at
 * most 32 MiB on 64-bit) raises it to that chunk's size, and the trim
 * threshold to twice that. Node offers no mallopt(); one allocation of the
 * wanted size, never touched (no resident memory) and dropped at once,
 * raises both when the GC frees it.
 *
 * Two levels, both process-wide and one-way (glibc has no lowering them):
 * - LARGE_MESSAGE_RAISE_BYTES (4 MiB - 64 KiB; trim threshold ~8 MiB), made
 *   when a socket first receives a message of LARGE_MESSAGE_BYTES or more,
 *   whatever the options. Without it, a 64 KiB echo flips between two rates
 *   2-3x apart depending on whether the process happened to free some
 *   buffer over 128 KiB early on: at the starting thresholds every GC that
 *   frees a batch of read and message buffers at the heap top hands it back
 *   to the kernel, and the next reads and messages fault in fresh pages
 *   (several per message; bench/RESULTS.md "Session 6, large messages").
 *   glibc reaches this level by itself in any process that frees one 4 MiB
 *   buffer (a 4 MiB message does), and it keeps at most ~8 MiB free at the
 *   top of each malloc arena.
 * - MMAP_THRESHOLD_RAISE_BYTES (32 MiB - 64 KiB; trim threshold ~64 MiB),
 *   made only when a socket with `ownReadBuffers` is switched to reading into
 *   message buffers: those reads leave no small buffers between the 1 MiB
 *   message buffers, so a GC frees long runs of them at the heap top, and
 *   only a trim threshold above the whole run keeps them for reuse. The run
 *   is one scavenge's worth: V8 scavenges before allocating a backing store
 *   once young ArrayBuffers hold twice its largest semi-space (32 MiB), so
 *   up to 32 MiB of adjacent message buffers are freed at once. A 16 MiB
 *   level (trim threshold ~32 MiB) flips between keeping them and trimming
 *   every batch (bench/RESULTS.md, session 8); hence 32 MiB, and opt-in.
 *
 * Does nothing where malloc has no such thresholds (musl, macOS: the
 * allocation is merely freed), and nothing when MALLOC_MMAP_THRESHOLD_ is
 * set (a fixed threshold turns the dynamic adjustment off: the operator's
 * way to opt out). See docs/api.md "Large messages and memory".
 */

/** Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), so the chunk (with its header) counts. */
export const MMAP_THRESHOLD_RAISE_BYTES = 32 * 1024 * 1024 - 64 * 1024;
/** The level any socket's first large message sets (see the file comment). */
export const LARGE_MESSAGE_RAISE_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Messages from this size on make the LARGE_MESSAGE_RAISE_BYTES raise. */
export const LARGE_MESSAGE_BYTES = 64 * 1024;

/** The highest level raised to in this process (0: none). */
let raisedBytes = 0;

/** The highest raise made in this process, in bytes (0: none). */
export function mmapThresholdRaise(): number {
  return raisedBytes;
}

/** True once the `ownReadBuffers` level was raised to in this process. */
export function isMmapThresholdRaised(): boolean {
  return raisedBytes >= MMAP_THRESHOLD_RAISE_BYTES;
}

/** Raises glibc's dynamic mmap threshold to `bytes` once per process (see the file comment). */
export function raiseMmapThreshold(bytes: number = MMAP_THRESHOLD_RAISE_BYTES): void {
  if (raisedBytes >= bytes) return;
  raisedBytes = bytes;
  if (process.platform !== 'linux') return;
  // Unpooled and uninitialised: malloc'ed (mmapped) and never written, so it costs address space only, briefly.
  Buffer.allocUnsafeSlow(bytes);
}

/** A socket received a message of LARGE_MESSAGE_BYTES or more. */
export function noteLargeMessage(): void {
  if (raisedBytes < LARGE_MESSAGE_RAISE_BYTES) raiseMmapThreshold(LARGE_MESSAGE_RAISE_BYTES);
}

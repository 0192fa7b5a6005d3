/**
 * Makes glibc keep freed large buffers for reuse instead of unmapping them.
 *
 * glibc's malloc serves requests of at least its mmap threshold (128 KiB at
 * start) with a fresh mmap and returns them with munmap on free, so every
 * 1 MiB message buffer costs 256 page faults and the kernel's zeroing of
 * those pages (issue 16 item 4: ~380 faults per 1 MiB message). The
 * threshold is dynamic: freeing an mmapped chunk larger than the threshold
 * (and at most 32 MiB on 64-bit) raises it to that chunk's size, and the
 * heap's trim threshold to twice that. Node offers no mallopt(); one
 * allocation just under 32 MiB, never touched (no resident memory) and
 * dropped at once, raises both when the GC frees it: later buffers below
 * ~32 MiB come from the heap and are reused after they are freed, and up to
 * ~64 MiB of free memory at the heap top is kept instead of returned.
 *
 * Process-wide and one-way (there is no lowering it again): made only when a
 * socket with `ownReadBuffers` first receives a large payload. Does nothing
 * where malloc has no such threshold (musl, macOS: the allocation is merely
 * freed), and nothing when MALLOC_MMAP_THRESHOLD_ is set (a fixed threshold
 * turns the dynamic adjustment off). See docs/api.md "Large messages and memory".
 */

/** Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), so the chunk (with its header) counts. */
export const MMAP_THRESHOLD_RAISE_BYTES = 32 * 1024 * 1024 - 64 * 1024;

let isRaised = false;

/** True once raiseMmapThreshold() ran in this process. */
export function isMmapThresholdRaised(): boolean {
  return isRaised;
}

/** Raises glibc's dynamic mmap threshold once per process (see the file comment). */
export function raiseMmapThreshold(): void {
  if (isRaised) return;
  isRaised = true;
  if (process.platform !== 'linux') return;
  // Unpooled and uninitialised: malloc'ed (mmapped) and never written, so it costs address space only, briefly.
  Buffer.allocUnsafeSlow(MMAP_THRESHOLD_RAISE_BYTES);
}

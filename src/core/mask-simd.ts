/**
 * Masking 16 bytes at a time with WebAssembly SIMD (issue 16: large
 * messages). JavaScript cannot XOR wider than 64 bits, and its 64-bit loop
 * needs source and target aligned alike, which a payload that starts 14 bytes
 * into a read never is; a `v128.load` takes any address.
 *
 * WebAssembly only reaches its own memory, so bytes pass through one 64 KiB
 * page: copy a block in, XOR it there, copy it out. Those two copies are
 * memcpy and stay in cache, so copying a 64 KiB read into its message
 * buffer and unmasking it costs ~3.5 µs this way against ~8.8 µs for a copy
 * followed by the JavaScript 64-bit loop (bench/RESULTS.md, session 10).
 *
 * The module is assembled here from its instructions (below, with their
 * text form) and compiled on the first large mask, so a process that only
 * sends small messages never reserves its memory. Where WebAssembly or its
 * SIMD is missing (`--jitless`, an old CPU), `simdMask` answers false and
 * mask.ts keeps its JavaScript loops.
 */

/** The bytes passed through the module's memory per call: its one page. */
const BLOCK_BYTES = 65536;

interface MaskModule {
  /** The module's memory as bytes (never grown, so this view stays valid). */
  readonly memory: Uint8Array;
  /** XORs memory[0, byteCount) with `key` repeated (key byte j on bytes 4i + j). */
  readonly xor: (byteCount: number, key: number) => void;
}

/** undefined: not tried yet; null: not available here. */
let loaded: MaskModule | null | undefined;

/**
 * Copies `source[sourceStart, sourceStart + byteCount)` to `target` at
 * `targetStart`, XORed with `key` (already rotated so its low byte applies to
 * the first byte); `source` and `target` may be the same range. Returns false,
 * touching nothing, when WebAssembly SIMD is not available.
 */
export function simdMask(source: Uint8Array, sourceStart: number, target: Uint8Array, targetStart: number, byteCount: number, key: number): boolean {
  const masker = loaded === undefined ? (loaded = instantiate()) : loaded;
  if (masker === null) return false;
  const { memory, xor } = masker;
  const sourceBuffer = source.buffer;
  const sourceOffset = source.byteOffset + sourceStart;
  // Every block but the last is a multiple of 4 bytes, so the key needs no rotation between blocks.
  for (let done = 0; done < byteCount; done += BLOCK_BYTES) {
    const left = byteCount - done;
    const n = left < BLOCK_BYTES ? left : BLOCK_BYTES;
    memory.set(new Uint8Array(sourceBuffer, sourceOffset + done, n));
    xor(n, key);
    target.set(memory.subarray(0, n), targetStart + done);
  }
  return true;
}

function instantiate(): MaskModule | null {
  try {
    if (typeof WebAssembly !== 'object') return null;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(assemble()));
    const exports = instance.exports as { memory: WebAssembly.Memory; xor: (byteCount: number, key: number) => void };
    return { memory: new Uint8Array(exports.memory.buffer), xor: exports.xor };
  } catch {
    // No SIMD (validation fails), no memory to reserve, or code generation disallowed.
    return null;
  }
}

// ---- The module, instruction by instruction -------------------------------
//
// (module
//   (memory (export "memory") 1 1)
//   (func (export "xor") (param $n i32) (param $key i32)
//     (local $i i32) (local $k v128)
//     (local.set $k (i32x4.splat (local.get $key)))
//     ;; 64 bytes per turn while they fit, then 16, then single bytes
//     (block (loop (br_if 1 (i32.gt_u (i32.add (local.get $i) (i32.const 64)) (local.get $n)))
//       4 x (v128.store offset=16u (local.get $i) (v128.xor (v128.load offset=16u (local.get $i)) (local.get $k)))
//       (local.set $i (i32.add (local.get $i) (i32.const 64))) (br 0)))
//     (block (loop (br_if 1 (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $n)))
//       (v128.store (local.get $i) (v128.xor (v128.load (local.get $i)) (local.get $k)))
//       (local.set $i (i32.add (local.get $i) (i32.const 16))) (br 0)))
//     (block (loop (br_if 1 (i32.gt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n)))
//       (i32.store8 (local.get $i) (i32.xor (i32.load8_u (local.get $i))
//         (i32.shr_u (local.get $key) (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 3)))))
//       (local.set $i (i32.add (local.get $i) (i32.const 1))) (br 0)))))

const I32 = 0x7f;
const V128 = 0x7b;
const N = 0; // parameters and locals by index
const KEY = 1;
const I = 2;
const K = 3;

const unsignedLeb = (value: number): number[] => {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};
const vector = (items: number[][]): number[] => [...unsignedLeb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...unsignedLeb(body.length), ...body];
const name = (text: string): number[] => [...unsignedLeb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];

const get = (index: number): number[] => [0x20, index];
const set = (index: number): number[] => [0x21, index];
const signedLeb = (value: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const isLast = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(isLast ? byte : byte | 0x80);
    if (isLast) return out;
  }
};
const i32Const = (value: number): number[] => [0x41, ...signedLeb(value)]; // 64 needs two bytes: 0x40 alone is -64
const simd = (op: number, ...immediates: number[]): number[] => [0xfd, ...unsignedLeb(op), ...immediates];
const memarg = (offset: number): number[] => [0, ...unsignedLeb(offset)]; // alignment hint 1 byte: any address
const I32_ADD = 0x6a;
const I32_GT_U = 0x4b;
const I32_AND = 0x71;
const I32_XOR = 0x73;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const I32_LOAD8_U = 0x2d;
const I32_STORE8 = 0x3a;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const I32X4_SPLAT = 0x11;
const V128_XOR = 0x51;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;

/** XORs the 16 bytes at $i + offset with $k. */
const xor16 = (offset: number): number[] => [
  ...get(I),
  ...get(I),
  ...simd(V128_LOAD, ...memarg(offset)),
  ...get(K),
  ...simd(V128_XOR),
  ...simd(V128_STORE, ...memarg(offset)),
];

/** A loop that runs `body` in steps of `step` bytes while a whole step fits before $n. */
const stepLoop = (step: number, body: number[]): number[] => [
  ...BLOCK,
  ...LOOP,
  ...get(I),
  ...i32Const(step),
  I32_ADD,
  ...get(N),
  I32_GT_U,
  BR_IF,
  1,
  ...body,
  ...get(I),
  ...i32Const(step),
  I32_ADD,
  ...set(I),
  BR,
  0,
  END,
  END,
];

/** XORs the byte at $i with its key byte: $key >> (($i & 3) * 8). */
const xorByte: number[] = [
  ...get(I),
  ...get(I),
  I32_LOAD8_U,
  ...memarg(0),
  ...get(KEY),
  ...get(I),
  ...i32Const(3),
  I32_AND,
  ...i32Const(3),
  I32_SHL,
  I32_SHR_U,
  I32_XOR,
  I32_STORE8,
  ...memarg(0),
];

function assemble(): Uint8Array<ArrayBuffer> {
  const body = [
    ...get(KEY),
    ...simd(I32X4_SPLAT),
    ...set(K),
    ...stepLoop(64, [...xor16(0), ...xor16(16), ...xor16(32), ...xor16(48)]),
    ...stepLoop(16, xor16(0)),
    ...stepLoop(1, xorByte),
    END,
  ];
  const code = [...vector([[1, I32], [1, V128]]), ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vector([[0x60, ...vector([[I32], [I32]]), ...vector([])]])), // type 0: (i32, i32) -> ()
    ...section(3, vector([[0]])), // function 0 has type 0
    ...section(5, vector([[0x01, 1, 1]])), // one memory of exactly 1 page (minimum and maximum)
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('xor'), 0x00, 0]])),
    ...section(10, vector([[...unsignedLeb(code.length), ...code]])),
  ]);
}

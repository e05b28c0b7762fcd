import type { TensorInfo } from '@tensorflow/tfjs-core';

/**
 * SparseSegmentSum / Mean over float32 rows on tfjs-backend-wasm's own heap, four floats per instruction: the
 * per-row TF Serving graph spends most of its model time here (bench/README.md, TF Serving `:predict`). tfjs's
 * kernel (tfjs-backend-wasm/src/cc/kernels/SparseSegmentReduction.cc) adds one float at a time through memory,
 * `output[s * cols + j] += input[index * cols + j]`, then divides each segment's row by its count; this kernel
 * does the same float operations in the same order on each lane (the row starts at +0, adds its rows in index
 * order, one IEEE division by the count), so its output is the same bits, 4 lanes at a time.
 *
 * It takes what the direct executor hands SparseSegment* after checkSegments (../op/sparse-segment.ts): indices
 * within data's rows, segment ids non-negative and sorted. It declines (undefined: tfjs's kernel runs instead) for
 * other dtypes, rows whose size is not a multiple of 4, no indices, or a heap it cannot share (threaded builds).
 */
// The engine's WebAssembly API as used here (this project's TypeScript libs declare none).
type Memory = { readonly buffer: ArrayBufferLike };
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

/** What this kernel uses of tfjs-backend-wasm's BackendWasm (direct-ops.ts's DirectBackend is one). */
type WasmBackend = {
  typedArrayFromHeap(t: TensorInfo): Int32Array | Float32Array | Uint8Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  readonly wasm: { readonly asm?: { readonly memory?: Memory } };
};

type Reduce = (
  data: number,
  idx: number,
  seg: number,
  n: number,
  out: number,
  rowBytes: number,
  mean: number,
) => void;

const modules = new WeakMap<Memory, Reduce | null>();

export function simdSegmentReduce(
  backend: Pick<WasmBackend, 'typedArrayFromHeap'>,
  data: TensorInfo,
  indices: TensorInfo,
  segmentIds: TensorInfo,
  mean: boolean,
): TensorInfo | undefined {
  const wasm = backend as WasmBackend;
  const memory = wasm.wasm?.asm?.memory;
  const n = indices.shape[0] ?? 0;
  const rows = data.shape[0] ?? 0;
  const cols = data.shape.slice(1).reduce((a, d) => a * d, 1);
  if (!memory || data.dtype !== 'float32' || n === 0 || rows === 0 || cols % 4 !== 0 || cols === 0)
    return undefined;
  const reduce = reducerFor(memory);
  if (!reduce) return undefined;
  const seg = backend.typedArrayFromHeap(segmentIds);
  const outShape = [seg[n - 1]! + 1, ...data.shape.slice(1)];
  const out = wasm.makeOutput(outShape, 'float32');
  // Offsets after makeOutput, which may grow the heap.
  const outView = backend.typedArrayFromHeap(out);
  outView.fill(0);
  const offset = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  reduce(offset(data), offset(indices), offset(segmentIds), n, outView.byteOffset, cols * 4, mean ? 1 : 0);
  return out;
}

function reducerFor(memory: Memory): Reduce | undefined {
  let reduce = modules.get(memory);
  if (reduce === undefined) {
    reduce = null;
    try {
      if (!(memory.buffer instanceof SharedArrayBuffer)) {
        const module = new WebAssembly.Module(segmentReduceWasm());
        reduce = new WebAssembly.Instance(module, { env: { memory } }).exports.reduce as Reduce;
      }
    } catch {
      // No SIMD in this engine: tfjs's kernel.
    }
    modules.set(memory, reduce);
  }
  return reduce ?? undefined;
}

// Opcodes (WebAssembly core spec, binary format; SIMD ops after the 0xfd prefix, LEB128-encoded).
const [BLOCK, LOOP, IF, END, BR_IF, VOID] = [0x02, 0x03, 0x04, 0x0b, 0x0d, 0x40];
const [GET, SET, TEE, CONST, I32_LOAD] = [0x20, 0x21, 0x22, 0x41, [0x28, 2, 0]] as const;
const [EQZ, EQ, LT_U, ADD, SUB, MUL, SHL, F32_OF_I32] = [0x45, 0x46, 0x49, 0x6a, 0x6b, 0x6c, 0x74, 0xb2];
const [V128_LOAD, V128_STORE] = [
  [0xfd, 0x00, 0, 0],
  [0xfd, 0x0b, 0, 0],
];
const [F32X4_SPLAT, F32X4_ADD, F32X4_DIV] = [
  [0xfd, 0x13],
  [0xfd, 0xe4, 0x01],
  [0xfd, 0xe7, 0x01],
];

// Params 0-6 (data, idx, seg, n, out, rowBytes, mean: byte offsets, counts, a flag), then locals j, s, o, start,
// t, k (i32) and cnt, acc (v128).
const [DATA, IDX, SEG, N, OUT, ROW_BYTES, MEAN, J, S, O, START, T, K, CNT, ACC] = Array.from(
  { length: 15 },
  (_, i) => i,
);

/** `base[i]` (seg or idx) as an i32. */
const at = (base: number, i: number) => [GET, base, GET, i, CONST, 2, SHL, ADD, ...I32_LOAD];
/** f32x4.splat of the i32 on the stack. */
const splat = [F32_OF_I32, ...F32X4_SPLAT];

/**
 * The module, on the memory imported as env.memory: `reduce` walks the runs of equal segment ids; for each
 * 16-byte column block of the run's output row, it sums the block of every row the run indexes into a v128 that
 * starts at +0 (in index order, as tfjs's kernel does), divides it by the run's length when `mean`, and stores it.
 * Rows of segment ids no index has stay as the caller zeroed them (tfjs's default value, 0).
 */
function segmentReduceWasm(): Uint8Array {
  const body = [
    ...[2, 6, 0x7f, 2, 0x7b], // locals: 6 × i32, 2 × v128
    ...[BLOCK, VOID, GET, N, EQZ, BR_IF, 0, LOOP, VOID],
    ...[...at(SEG, J), SET, S, GET, OUT, GET, S, GET, ROW_BYTES, MUL, ADD, SET, O, GET, J, SET, START],
    // j to the end of the run of s.
    ...[LOOP, VOID, GET, J, CONST, 1, ADD, TEE, J, GET, N, LT_U],
    ...[IF, VOID, ...at(SEG, J), GET, S, EQ, BR_IF, 1, END, END],
    ...[GET, J, GET, START, SUB, ...splat, SET, CNT, CONST, 0, SET, K, LOOP, VOID],
    ...[CONST, 0, ...splat, SET, ACC, GET, START, SET, T, LOOP, VOID],
    ...[GET, ACC, GET, DATA, ...at(IDX, T), GET, ROW_BYTES, MUL, ADD, GET, K, ADD, ...V128_LOAD],
    ...[...F32X4_ADD, SET, ACC, GET, T, CONST, 1, ADD, TEE, T, GET, J, LT_U, BR_IF, 0, END],
    ...[GET, MEAN, IF, VOID, GET, ACC, GET, CNT, ...F32X4_DIV, SET, ACC, END],
    ...[GET, O, GET, K, ADD, GET, ACC, ...V128_STORE],
    ...[GET, K, CONST, 16, ADD, TEE, K, GET, ROW_BYTES, LT_U, BR_IF, 0, END],
    ...[GET, J, GET, N, LT_U, BR_IF, 0, END, END],
  ];
  const text = (t: string) => [t.length, ...[...t].map((c) => c.charCodeAt(0))];
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 7, ...new Array<number>(7).fill(0x7f), 0]),
    ...section(2, [1, ...text('env'), ...text('memory'), 2, 0, 0]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...text('reduce'), 0, 0]),
    ...section(10, [1, ...leb(body.length + 1), ...body, END]),
  ]);
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}

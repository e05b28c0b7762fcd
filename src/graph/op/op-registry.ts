import { registerOp } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { CtrError, isCtrError } from '../../errors/registry.ts';
import { KernelContext, type ExecutorNode, type OpKernel } from './kernel-context.ts';
import { KERNELS } from './kernels.ts';

/**
 * The op-kernel registry: TensorFlow ops that tfjs-converter lacks (or runs without the checks we need: every op
 * whose tfjs-backend-wasm kernel indexes memory by a tensor's values — Gather*, GatherNd, ScatterNd,
 * TensorScatterUpdate, SparseSegment*, SparseToDense, SparseFillEmptyRows), each a kernel written here by the
 * op's semantics in TensorFlow's op registry (tensorflow/core/ops/*.cc).
 *
 * Contract of an OpKernel (type in kernel-context.ts; add one: write it in src/graph/op/, list it in KERNELS in kernels.ts):
 * - Lookup. The op check (tfjs/supported-ops.ts) counts an op with a kernel here as runnable, so `load` and
 *   `inspect` never list it; compileGraph installs every kernel into tfjs-converter (its `registerOp` custom-op
 *   hook, which takes precedence over tfjs's own mapping) before it builds a GraphModel. Kernels are global and
 *   stateless: state that belongs to one loaded model version (lookup tables) lives in a ResourceScope
 *   (resources.ts) owned by that version, and the kernel finds it through an attr set at load time.
 * - Lifecycle. `run` is called once per execution of the node, synchronously (it works under execute and
 *   executeAsync alike). Attrs come from the NodeDef as compiled (KernelContext.attr* read them exactly: bytes
 *   stay bytes, no lower-casing), inputs in NodeDef order with control inputs already dropped by freezing.
 * - Tensor ownership. Inputs belong to the executor: read them, never dispose or return them. Every tensor the
 *   kernel returns must be new; the executor owns it from then on. Intermediates the kernel makes are its own to
 *   dispose (run is not wrapped in tf.tidy): prefer host arrays, or wrap tensor math in tf.tidy.
 * - Strings. DT_STRING tensors hold raw bytes: read them with ctx.stringInput (Uint8Array per element, never
 *   decoded), make them with stringTensor (kernel-context.ts). No utf8/latin1 round trip of the data.
 * - Index safety. A kernel checks every index, id, shape and segment input against the sizes it applies to
 *   before any of it reaches a tfjs (wasm) kernel or a typed-array write; TensorFlow's INVALID_ARGUMENT becomes
 *   CTR_ERR_INVALID_ARGUMENT (or CTR_ERR_INDEX_OUT_OF_RANGE for a position outside its table).
 * - Failures. Throw CtrError with a registry code (errors/registry.ts) naming the node; executeRuntime passes
 *   CtrErrors through unchanged. Any other exception becomes CTR_ERR_EXECUTION naming the node and op.
 */
const byOp = new Map<string, OpKernel>();
for (const k of KERNELS) {
  if (byOp.has(k.op)) throw new Error(`two kernels for op ${k.op}`);
  byOp.set(k.op, k);
}

/** Ops with a kernel in this registry. */
export const KERNEL_OPS: ReadonlySet<string> = new Set(byOp.keys());

let installed = false;

/** Installs every kernel into tfjs-converter (idempotent); compileGraph calls it before building a GraphModel. */
export function installKernels(): void {
  if (installed) return;
  installed = true;
  for (const kernel of byOp.values()) {
    registerOp(kernel.op, (node) => runKernel(kernel, node as unknown as ExecutorNode));
  }
}

function runKernel(kernel: OpKernel, node: ExecutorNode): tf.Tensor | tf.Tensor[] {
  const ctx = new KernelContext(node);
  try {
    return kernel.run(ctx);
  } catch (err) {
    if (isCtrError(err)) throw err;
    throw new CtrError(
      'CTR_ERR_EXECUTION',
      `${kernel.op} node ${ctx.name} failed: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
}

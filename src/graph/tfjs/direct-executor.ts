import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { TfDtype } from '../model.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';
import { dtypeName } from '../tensor/tensor-values.ts';
import { DIRECT_OPS, DirectDecline, type DirectBackend, type DirectRun } from './direct-ops.ts';
import { tfjsDtypeOf } from './host-tensors.ts';

/**
 * The direct executor: a synchronous graph run as the list of its nodes in topological order, each straight on
 * tfjs-backend-wasm's kernel (direct-ops.ts), with the inputs of every node resolved to slots once per
 * (feeds, fetches) at the first call — none of GraphModel.execute's per-call name parsing, tensor maps, tidy
 * scopes or engine bookkeeping per op. It takes a graph only when every node the fetches need is fed, a Const
 * (the GraphModel's own weight tensor, read, never freed), or an op of DIRECT_OPS whose attrs it covers; otherwise
 * `plan` answers undefined and the GraphModel runs. A run that meets a case it does not cover throws
 * DirectDecline (having freed what it made), and the caller runs the GraphModel for that call.
 *
 * Tensors: feeds stay the caller's. Every intermediate is freed after its last use (and all of them on failure);
 * the fetched outputs come back as new tfjs tensors the caller owns (tracked by the engine like any op's output).
 * Only on the wasm backend.
 */
export type DirectPlan = { run(feeds: Readonly<Record<string, tf.Tensor>>): tf.Tensor[] };

type Step = {
  readonly run: DirectRun;
  readonly inputs: readonly number[];
  readonly out: number;
  readonly free: number[];
};
type FeedSlot = {
  readonly name: string;
  readonly slot: number;
  readonly dtype?: tf.DataType;
  readonly shape?: readonly number[];
};

export class DirectGraph {
  readonly #nodes: ReadonlyMap<string, NodeDef>;
  readonly #weights: Readonly<Record<string, readonly tf.Tensor[]>>;
  readonly #plans = new Map<string, DirectPlan | undefined>();

  constructor(graph: GraphDef, weights: Readonly<Record<string, readonly tf.Tensor[]>>) {
    this.#nodes = new Map(graph.node.map((n) => [n.name, n]));
    this.#weights = weights;
  }

  /** The plan for these feeds and fetches (tensor names), made once; undefined when the graph is not covered. */
  plan(feeds: readonly string[], fetches: readonly string[]): DirectPlan | undefined {
    if (tf.getBackend() !== 'wasm') return undefined;
    const key = `${feeds.join(',')}|${fetches.join(',')}`;
    if (!this.#plans.has(key)) this.#plans.set(key, this.#build(feeds, fetches));
    return this.#plans.get(key);
  }

  #build(feedNames: readonly string[], fetchNames: readonly string[]): DirectPlan | undefined {
    const fed = new Map<string, string>();
    for (const f of feedNames) {
      const node = nodeOf(f);
      if (node === undefined) return undefined;
      fed.set(node, f);
    }
    const fetchNodes = fetchNames.map(nodeOf);
    const bad = (n: string | undefined) =>
      n === undefined || fed.has(n) || this.#nodes.get(n)?.op === 'Const';
    if (fetchNodes.some(bad) || new Set(fetchNodes).size !== fetchNodes.length) return undefined;
    const order = this.#order(fetchNodes as string[], fed);
    if (!order) return undefined;
    const slotOf = new Map(order.map((n, i) => [n, i]));
    const feeds: FeedSlot[] = [];
    const consts: [number, tf.Tensor][] = [];
    const steps: Step[] = [];
    for (const [i, name] of order.entries()) {
      const n = this.#nodes.get(name)!;
      if (fed.has(name)) feeds.push({ name: fed.get(name)!, slot: i, ...placeholderSpec(n) });
      else if (n.op === 'Const') consts.push([i, this.#weights[name]![0]!]);
      else {
        const inputs = n.input.map((ref) => slotOf.get(nodeOf(ref)!)!);
        const constInput = (k: number) => {
          const c = consts.find(([s]) => s === inputs[k]);
          return c && c[1].dtype !== 'string' ? (c[1].dataSync() as Int32Array | Float32Array) : undefined;
        };
        const run = DIRECT_OPS.get(n.op)!({ node: n, constInput });
        if (!run) return undefined;
        steps.push({ run, inputs, out: i, free: [] });
      }
    }
    freeAfterLastUse(steps, new Set(fetchNodes.map((n) => slotOf.get(n!)!)));
    const fetchSlots = fetchNodes.map((n) => slotOf.get(n!)!);
    return { run: (given) => runPlan(order.length, feeds, consts, steps, fetchSlots, given) };
  }

  /** The nodes the fetches need, inputs before users; undefined when one is not covered. */
  #order(fetches: readonly string[], fed: ReadonlyMap<string, string>): string[] | undefined {
    const order: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: [string, boolean][] = fetches.map((f) => [f, false]);
    while (stack.length) {
      const [name, expanded] = stack.pop()!;
      if (expanded) {
        state.set(name, 'done');
        order.push(name);
        continue;
      }
      if (state.get(name) === 'done') continue;
      if (state.get(name) === 'open') return undefined; // a cycle: not a synchronous graph
      const n = this.#nodes.get(name);
      if (!n) return undefined;
      state.set(name, 'open');
      stack.push([name, true]);
      if (fed.has(name)) continue;
      if (n.op === 'Const') {
        if (!this.#weights[name]?.[0]) return undefined;
        continue;
      }
      if (!DIRECT_OPS.has(n.op)) return undefined;
      for (const ref of n.input) {
        const input = nodeOf(ref);
        if (input === undefined) return undefined;
        if (state.get(input) !== 'done') stack.push([input, false]);
      }
    }
    return order;
  }
}

/** "node" and "node:0" name output 0 of node; anything else (another output, a control input) is not covered. */
function nodeOf(ref: string): string | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*):(\d+)$/.exec(ref);
  if (!m) return ref;
  return m[2] === '0' ? m[1] : undefined;
}

/** What GraphModel.execute checks a feed against: the Placeholder's dtype and, when known, its shape. */
function placeholderSpec(n: NodeDef): { dtype?: tf.DataType; shape?: readonly number[] } {
  const dtype = n.attr.dtype?.type;
  const shape = n.attr.shape?.shape;
  return {
    ...(dtype === undefined ? {} : { dtype: tfjsDtypeOf(dtypeName(dtype) as TfDtype) }),
    ...(shape && !shape.unknownRank ? { shape: shape.dim.map((d) => d.size) } : {}),
  };
}

function freeAfterLastUse(steps: Step[], kept: ReadonlySet<number>): void {
  const owned = new Set(steps.map((s) => s.out));
  const last = new Map<number, Step>();
  for (const s of steps) for (const i of s.inputs) if (owned.has(i)) last.set(i, s);
  for (const s of steps) if (!last.has(s.out) && !kept.has(s.out)) last.set(s.out, s); // never read
  for (const [slot, s] of last) if (!kept.has(slot)) s.free.push(slot);
}

function runPlan(
  size: number,
  feeds: readonly FeedSlot[],
  consts: readonly [number, tf.Tensor][],
  steps: readonly Step[],
  fetchSlots: readonly number[],
  given: Readonly<Record<string, tf.Tensor>>,
): tf.Tensor[] {
  const backend = tf.backend() as DirectBackend;
  const slots: (TensorInfo | undefined)[] = new Array(size);
  for (const f of feeds) {
    const t = given[f.name];
    if (!t || (f.dtype && t.dtype !== f.dtype) || (f.shape && !fits(f.shape, t.shape)))
      throw new DirectDecline(`feed ${f.name}`);
    slots[f.slot] = t;
  }
  for (const [i, t] of consts) slots[i] = t;
  const owned: number[] = [];
  try {
    for (const s of steps) {
      slots[s.out] = s.run(
        s.inputs.map((i) => slots[i]!),
        backend,
      );
      owned.push(s.out);
      for (const i of s.free) {
        backend.disposeData(slots[i]!.dataId);
        slots[i] = undefined;
      }
    }
    const engine = tf.engine();
    return fetchSlots.map((i) => {
      const t = engine.makeTensorFromTensorInfo(slots[i]!, backend);
      slots[i] = undefined;
      return t;
    });
  } finally {
    for (const i of owned) if (slots[i]) backend.disposeData(slots[i].dataId);
  }
}

function fits(want: readonly number[], got: readonly number[]): boolean {
  return want.length === got.length && want.every((d, i) => d < 0 || d === got[i]);
}

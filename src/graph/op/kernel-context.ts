import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../../errors/registry.ts';
import { resourceOf } from './resources.ts';

/** One kernel of the op registry (contract in op-registry.ts). */
export type OpKernel = {
  /** TensorFlow op name (NodeDef.op). */
  readonly op: string;
  readonly run: (ctx: KernelContext) => tf.Tensor | tf.Tensor[];
};

/** An attr as tfjs-converter's topology holds it (topology-node.ts): bytes base64, numbers possibly strings. */
type TopologyAttr = {
  s?: string;
  i?: number | string;
  f?: number | string;
  b?: boolean;
  type?: number | string;
  list?: {
    s?: string[];
    i?: (number | string)[];
    f?: (number | string)[];
    b?: boolean[];
    type?: (number | string)[];
    shape?: { dim?: { size: number | string }[]; unknownRank?: boolean }[];
  };
};

/** What tfjs-converter hands a custom op (its NodeValueImpl): the executor's node and the input tensors. */
export type ExecutorNode = {
  readonly node: {
    readonly name: string;
    readonly op: string;
    readonly rawAttrs?: Readonly<Record<string, TopologyAttr>>;
  };
  readonly inputs: readonly (tf.Tensor | undefined)[];
};

/** Raw bytes of a string tensor's elements (the backend's own storage; never decoded). */
export function stringBytes(t: tf.Tensor): Uint8Array[] {
  if (t.dtype !== 'string') throw new Error(`expected a string tensor, got ${t.dtype}`);
  return tf.engine().readSync(t.dataId) as unknown as Uint8Array[];
}

/** A new string tensor holding `values` as they are (tfjs keeps Uint8Array elements as bytes). */
export function stringTensor(values: readonly Uint8Array[], shape: readonly number[]): tf.Tensor {
  return tf.tensor(values as Uint8Array[], [...shape], 'string');
}

/** A kernel's view of one node execution: inputs by position, attrs read exactly as TensorFlow wrote them. */
export class KernelContext {
  readonly name: string;
  readonly op: string;
  readonly #attrs: Readonly<Record<string, TopologyAttr>>;
  readonly #inputs: readonly (tf.Tensor | undefined)[];

  constructor(n: ExecutorNode) {
    this.name = n.node.name;
    this.op = n.node.op;
    this.#attrs = n.node.rawAttrs ?? {};
    this.#inputs = n.inputs;
  }

  get inputCount(): number {
    return this.#inputs.length;
  }

  /** Input `i` (CTR_ERR_INVALID_GRAPH when the node has no such input). */
  input(i: number): tf.Tensor {
    const t = this.#inputs[i];
    if (!t) throw this.invalidGraph(`has no input ${i}`);
    return t;
  }

  /** Input `i`'s elements as raw bytes. */
  stringInput(i: number): Uint8Array[] {
    const t = this.input(i);
    if (t.dtype !== 'string') throw this.invalidGraph(`input ${i} is ${t.dtype}, not string`);
    return stringBytes(t);
  }

  /** Input `i`'s values as int32 (tfjs computes int64 in int32). */
  intInput(i: number): Int32Array {
    const t = this.input(i);
    if (t.dtype !== 'int32') throw this.invalidGraph(`input ${i} is ${t.dtype}, not an integer tensor`);
    return t.dataSync() as Int32Array;
  }

  /** A rank-0 (or one-element) integer input, as TensorFlow's scalar inputs (num_buckets, dense_shape dims). */
  intScalar(i: number): number {
    const v = this.intInput(i);
    if (v.length !== 1) throw this.invalidArgument(`input ${i} must be a scalar, has ${v.length} values`);
    return v[0]!;
  }

  has(attr: string): boolean {
    return this.#attrs[attr] !== undefined;
  }

  attrBytes(name: string, fallback?: Uint8Array): Uint8Array {
    const s = this.#attrs[name]?.s;
    if (s !== undefined) return new Uint8Array(Buffer.from(s, 'base64'));
    if (fallback) return fallback;
    throw this.invalidGraph(`has no attr ${name}`);
  }

  /** A text attr (op and table names, formats): bytes decoded as UTF-8, as TensorFlow's StringPiece. */
  attrString(name: string, fallback?: string): string {
    const s = this.#attrs[name]?.s;
    if (s !== undefined) return Buffer.from(s, 'base64').toString('utf8');
    if (fallback !== undefined) return fallback;
    throw this.invalidGraph(`has no attr ${name}`);
  }

  attrInt(name: string, fallback?: number): number {
    return this.#number(name, this.#attrs[name]?.i, fallback);
  }

  attrFloat(name: string, fallback?: number): number {
    return this.#number(name, this.#attrs[name]?.f, fallback);
  }

  attrBool(name: string, fallback?: boolean): boolean {
    const b = this.#attrs[name]?.b;
    if (b !== undefined) return b;
    if (fallback !== undefined) return fallback;
    throw this.invalidGraph(`has no attr ${name}`);
  }

  /** A DataType attr as its proto number (int64 already lowered to int32 by the compiler). */
  attrType(name: string): number {
    return this.#number(name, this.#attrs[name]?.type, undefined);
  }

  attrInts(name: string): number[] {
    return (this.#attrs[name]?.list?.i ?? []).map(Number);
  }

  /** A list(type) attr as proto numbers (int64 lowered to int32 by the compiler, as attrType). */
  attrTypes(name: string): number[] {
    return (this.#attrs[name]?.list?.type ?? []).map(Number);
  }

  /** A list(shape) attr: each shape's dims (-1 unknown), or null for an unknown rank. */
  attrShapes(name: string): (number[] | null)[] {
    return (this.#attrs[name]?.list?.shape ?? []).map((s) =>
      s.unknownRank ? null : (s.dim ?? []).map((d) => Number(d.size)),
    );
  }

  attrFloats(name: string): number[] {
    return (this.#attrs[name]?.list?.f ?? []).map(Number);
  }

  /** The per-version resource an attr names (set at load time; resources.ts), checked to be of `kind`. */
  resource<T>(attr: string, kind: string): T {
    const id = this.has(attr) ? this.attrString(attr) : undefined;
    if (id === undefined) throw this.invalidGraph(`was not bound to a ${kind} at load time`);
    return resourceOf<T>(id, kind, `${this.op} node ${this.name}`);
  }

  invalidArgument(why: string): CtrError {
    return new CtrError('CTR_ERR_INVALID_ARGUMENT', `${this.op} node ${this.name}: ${why}`);
  }

  invalidGraph(why: string): CtrError {
    return new CtrError('CTR_ERR_INVALID_GRAPH', `${this.op} node ${this.name} ${why}`);
  }

  #number(name: string, v: number | string | undefined, fallback: number | undefined): number {
    if (v !== undefined) return Number(v);
    if (fallback !== undefined) return fallback;
    throw this.invalidGraph(`has no attr ${name}`);
  }
}

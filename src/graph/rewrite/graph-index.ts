import type { AttrValue, GraphDef, NodeDef } from '../proto/types.ts';

/** A parsed NodeDef input: "node", "node:1" or "^node" (control). */
export type InputRef = { readonly node: string; readonly index: number; readonly control: boolean };

export function parseInput(ref: string): InputRef {
  if (ref.startsWith('^')) return { node: ref.slice(1), index: 0, control: true };
  const colon = ref.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(ref.slice(colon + 1))) {
    return { node: ref.slice(0, colon), index: Number(ref.slice(colon + 1)), control: false };
  }
  return { node: ref, index: 0, control: false };
}

/** The canonical input string TensorFlow writes: output 0 without a suffix. */
export function tensorRef(node: string, index = 0): string {
  return index === 0 ? node : `${node}:${index}`;
}

export function sameTensor(a: string, b: string): boolean {
  const x = parseInput(a);
  const y = parseInput(b);
  return !x.control && !y.control && x.node === y.node && x.index === y.index;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function attrString(node: NodeDef, key: string): string | undefined {
  const s = node.attr[key]?.s;
  return s === undefined ? undefined : decoder.decode(s);
}

export function stringListAttr(values: readonly string[]): AttrValue {
  return { list: { s: values.map((v) => encoder.encode(v)) } };
}

/**
 * A mutable working copy of a GraphDef for one rewrite pass: nodes by name, consumers by producer, fresh names.
 * Passes add and replace nodes through it and call `build()` once; the input GraphDef is never touched (node
 * objects are shallow-copied on the way in, attr values are shared read-only).
 */
export class GraphIndex {
  readonly #nodes = new Map<string, NodeDef>();
  #order: string[] = [];
  #consumersOf: Map<string, NodeDef[]> | undefined;

  constructor(readonly source: GraphDef) {
    for (const n of source.node) {
      this.#nodes.set(n.name, { ...n, input: [...n.input], attr: { ...n.attr } });
      this.#order.push(n.name);
    }
  }

  get(name: string): NodeDef | undefined {
    return this.#nodes.get(name);
  }

  /** The node producing a (non-control) input string, or undefined when absent. */
  producer(ref: string): NodeDef | undefined {
    return this.#nodes.get(parseInput(ref).node);
  }

  nodes(): NodeDef[] {
    return this.#order.map((name) => this.#nodes.get(name)).filter((n): n is NodeDef => n !== undefined);
  }

  /** Nodes that read any output of `name` (data or control), each once. */
  consumers(name: string): NodeDef[] {
    if (!this.#consumersOf) {
      this.#consumersOf = new Map();
      for (const n of this.nodes()) {
        for (const producer of new Set(n.input.map((i) => parseInput(i).node))) {
          const list = this.#consumersOf.get(producer) ?? [];
          list.push(n);
          this.#consumersOf.set(producer, list);
        }
      }
    }
    return this.#consumersOf.get(name) ?? [];
  }

  /** Data consumers of exactly this output tensor. */
  tensorConsumers(ref: string): NodeDef[] {
    return this.consumers(parseInput(ref).node).filter((n) => n.input.some((i) => sameTensor(i, ref)));
  }

  freshName(base: string): string {
    if (!this.#nodes.has(base)) return base;
    for (let i = 1; ; i++) {
      if (!this.#nodes.has(`${base}_${i}`)) return `${base}_${i}`;
    }
  }

  /** Adds a node (its name must be fresh) and returns its output-0 reference. */
  add(node: NodeDef): string {
    if (this.#nodes.has(node.name)) throw new Error(`graph rewrite: duplicate node name ${node.name}`);
    this.#consumersOf = undefined;
    this.#nodes.set(node.name, node);
    this.#order.push(node.name);
    return node.name;
  }

  /** Replaces a node in place, keeping its name (and so every consumer's reference and output names). */
  replace(node: NodeDef): void {
    if (!this.#nodes.has(node.name)) throw new Error(`graph rewrite: no node ${node.name} to replace`);
    this.#consumersOf = undefined;
    this.#nodes.set(node.name, node);
  }

  remove(name: string): void {
    this.#consumersOf = undefined;
    this.#nodes.delete(name);
  }

  /** Re-points every data input reading `from` to `to`. */
  rewire(from: string, to: string, except?: ReadonlySet<string>): void {
    this.#consumersOf = undefined;
    for (const n of this.#nodes.values()) {
      if (except?.has(n.name)) continue;
      n.input = n.input.map((i) => (sameTensor(i, from) ? to : i));
    }
  }

  /**
   * Removes nodes a rewrite left without consumers, transitively, so that they do not become new sinks (a frozen
   * graph without model.json takes its outputs from the sinks). Nodes that were sinks in the source graph,
   * Placeholders and `keep` are never removed.
   */
  pruneOrphans(keep: ReadonlySet<string>): void {
    const originalSinks = new Set(this.source.node.map((n) => n.name));
    for (const n of this.source.node) for (const i of n.input) originalSinks.delete(parseInput(i).node);
    for (;;) {
      const used = new Set<string>();
      for (const n of this.#nodes.values()) for (const i of n.input) used.add(parseInput(i).node);
      const dead = [...this.#nodes.values()].filter(
        (n) => !used.has(n.name) && !originalSinks.has(n.name) && !keep.has(n.name) && n.op !== 'Placeholder',
      );
      if (dead.length === 0) return;
      for (const n of dead) this.#nodes.delete(n.name);
      this.#consumersOf = undefined;
    }
  }

  build(): GraphDef {
    return { ...this.source, node: this.nodes() };
  }
}

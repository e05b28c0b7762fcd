/** A tensor reference in a GraphDef: "node" (output 0), "node:1", or a control input "^node". */
export type TensorRef = { node: string; index: number; control: boolean };

export function parseRef(ref: string): TensorRef {
  if (ref.startsWith('^')) return { node: ref.slice(1), index: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1], index: Number(m[2]), control: false } : { node: ref, index: 0, control: false };
}

/** The canonical tensor name, "node:index". */
export function tensorName(ref: string): string {
  const r = parseRef(ref);
  return `${r.node}:${r.index}`;
}

/** How a GraphDef input names a tensor: "node" for output 0, "node:k" otherwise. */
export function inputRef(node: string, index: number): string {
  return index === 0 ? node : `${node}:${index}`;
}

import { DataType, type AttrValue, type NodeDef } from '../proto/types.ts';
import { withDefaultAttrs } from './default-attrs.ts';

const b64 = (s: Uint8Array) => Buffer.from(s).toString('base64');
export const lowerType = (t: number) => (t === DataType.DT_INT64 ? DataType.DT_INT32 : t);

function topologyAttr(v: AttrValue): unknown {
  if (v.s !== undefined) return { s: b64(v.s) };
  if (v.type !== undefined) return { type: lowerType(v.type) };
  if (v.list) {
    const { s, type, tensor: _tensor, ...rest } = v.list;
    return {
      list: { ...rest, ...(s ? { s: s.map(b64) } : {}), ...(type ? { type: type.map(lowerType) } : {}) },
    };
  }
  if (v.tensor) return {};
  return v;
}

/**
 * A NodeDef as tfjs-converter's model.json holds it: bytes attrs base64, int64 types as int32, no tensor attrs,
 * registry defaults filled in where TensorFlow stripped them (default-attrs.ts).
 */
export function topologyNode(node: NodeDef): unknown {
  const n = withDefaultAttrs(node);
  const attr: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n.attr)) {
    if (k === '_output_shapes' || k === '_class') continue;
    attr[k] = topologyAttr(v);
  }
  return { name: n.name, op: n.op, input: [...n.input], attr };
}

import type { AttrValue, NodeDef } from '../proto/types.ts';

const ones = (n: number): AttrValue => ({ list: { i: Array.from({ length: n }, () => 1) } });

/**
 * Attr defaults of TensorFlow's op registry (tensorflow/core/ops/nn_ops.cc, data_flow_ops.cc) that tfjs-converter's
 * op mappers lack and where "absent" would mean something else to tfjs. TensorFlow 2 strips default-valued attrs
 * when it saves a model (saved_model.save → strip_default_attrs), so a Keras Conv1D (ExpandDims + Conv2D + Squeeze)
 * arrives as a Conv2D without `dilations`, which tfjs reads as undefined. Only attrs with such a gap are listed.
 */
const DEFAULTS: Readonly<Record<string, Readonly<Record<string, AttrValue>>>> = {
  Conv2D: { dilations: ones(4) },
  Conv2DBackpropInput: { dilations: ones(4) },
  DepthwiseConv2dNative: { dilations: ones(4) },
  _FusedConv2D: { dilations: ones(4) },
  FusedDepthwiseConv2dNative: { dilations: ones(4) },
  Conv3D: { dilations: ones(5) },
  TopKV2: { sorted: { b: true } },
  TensorArrayV3: { clear_after_read: { b: true } },
};

/** `n` with the registry defaults of its op filled in where the attr is absent. */
export function withDefaultAttrs(n: NodeDef): NodeDef {
  const defaults = DEFAULTS[n.op];
  if (!defaults) return n;
  const missing = Object.entries(defaults).filter(([k]) => n.attr[k] === undefined);
  return missing.length ? { ...n, attr: { ...Object.fromEntries(missing), ...n.attr } } : n;
}

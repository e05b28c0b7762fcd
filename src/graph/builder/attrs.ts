import { CtrError } from '../../errors/registry.ts';
import { DataType, type AttrValue, type DataTypeName } from '../proto/types.ts';
import { shapeProto } from './tensor-proto.ts';

/** A dtype by TensorFlow name ('DT_FLOAT') or enum number. */
export type Dtype = DataTypeName | number;

export function dtypeNumber(d: Dtype): number {
  if (typeof d === 'number') return d;
  const n = DataType[d];
  if (n === undefined) throw new CtrError('CTR_ERR_INVALID_GRAPH', `unknown dtype ${String(d)}`);
  return n;
}

const enc = new TextEncoder();

/** AttrValue makers, one per attr kind of attr_value.proto. */
export const attr = {
  type: (d: Dtype): AttrValue => ({ type: dtypeNumber(d) }),
  i: (i: number): AttrValue => ({ i }),
  f: (f: number): AttrValue => ({ f }),
  b: (b: boolean): AttrValue => ({ b }),
  s: (s: string): AttrValue => ({ s: enc.encode(s) }),
  shape: (shape: readonly number[] | null): AttrValue => ({ shape: shapeProto(shape) }),
};

/** "node:0" → "node"; "node:1" stays (GraphDef inputs omit the :0 of a first output, as TensorFlow writes). */
export function inputRef(t: string): string {
  return t.endsWith(':0') ? t.slice(0, -2) : t;
}

export function tensorName(t: string): string {
  return /:\d+$/.test(t) ? t : `${t}:0`;
}

export function nodeName(t: string): string {
  return t.replace(/^\^/, '').replace(/:\d+$/, '');
}

import { CtrError } from '../errors/registry.ts';
import type { HostTensor } from '../graph/model.ts';
import {
  dataTypeCode,
  dataTypeName,
  hostFromTensorProto,
  hostToTensorProto,
  type TensorProto,
} from '../graph/tensor-proto.ts';

/**
 * TensorProto as @grpc/proto-loader hands it over and takes it back (src/grpc/protos.ts: tensor.proto's field
 * names, DataType as its name, int64 as decimal strings, bytes as Buffers) ↔ HostTensor, through
 * src/graph/tensor-proto.ts (Tensor::FromProto's rules; tensor_content read as a typed view, no copy when aligned).
 */
export type WireTensor = {
  dtype?: string | number;
  tensor_shape?: { dim?: { size?: string | number; name?: string }[]; unknown_rank?: boolean };
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: (string | number)[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: (string | number)[];
};

export function hostFromWire(t: WireTensor, where: string): HostTensor {
  const dtype = typeof t.dtype === 'number' ? t.dtype : dataTypeCode(t.dtype ?? 'DT_INVALID');
  if (dtype === undefined || dtype === 0) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}: the TensorProto has no valid dtype (${t.dtype})`);
  }
  if (t.tensor_shape?.unknown_rank) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}: the TensorProto's shape has unknown rank`);
  }
  const dim = (t.tensor_shape?.dim ?? []).map((d) => ({ size: sizeOf(d.size, where) }));
  const proto: TensorProto = {
    dtype,
    tensorShape: { dim, unknownRank: false },
    tensorContent: t.tensor_content,
    halfVal: t.half_val,
    floatVal: t.float_val,
    doubleVal: t.double_val,
    intVal: t.int_val,
    stringVal: t.string_val,
    int64Val: t.int64_val?.map((v) => BigInt(v)),
    boolVal: t.bool_val,
    uint32Val: t.uint32_val,
    uint64Val: t.uint64_val?.map((v) => BigInt(v)),
  };
  return hostFromTensorProto(proto, where);
}

function sizeOf(size: string | number | undefined, where: string): number {
  const n = Number(size ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}: shape dim ${size} is not a size >= 0`);
  }
  return n;
}

/** A response tensor; `asContent` puts numbers in tensor_content (TF Serving's AsProtoTensorContent). */
export function hostToWire(h: HostTensor, asContent: boolean): WireTensor {
  const p = hostToTensorProto(h, asContent);
  const out: WireTensor = {
    dtype: dataTypeName(p.dtype) ?? p.dtype,
    tensor_shape: { dim: p.tensorShape!.dim.map((d) => ({ size: String(d.size) })) },
  };
  if (p.tensorContent) out.tensor_content = p.tensorContent;
  if (p.halfVal) out.half_val = p.halfVal;
  if (p.floatVal) out.float_val = p.floatVal;
  if (p.doubleVal) out.double_val = p.doubleVal;
  if (p.intVal) out.int_val = p.intVal;
  if (p.stringVal) out.string_val = p.stringVal;
  if (p.int64Val) out.int64_val = p.int64Val.map(String);
  if (p.boolVal) out.bool_val = p.boolVal;
  return out;
}

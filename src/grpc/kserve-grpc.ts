import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor } from '../graph/model.ts';
import {
  parseV2Version,
  runV2Infer,
  tfDtypeOfV2,
  v2ModelMetadata,
  v2ModelReady,
  v2ServerMetadata,
  type V2Datatype,
  type V2InferInput,
} from '../api/kserve-v2.ts';
import type { TfServingGrpcDeps } from './tf-serving-grpc.ts';
import { refuseWhenOverloaded, unaryService } from './unary.ts';
import { hostFromWire, hostToWire, type WireTensor } from './wire-tensor.ts';

/**
 * KServe V2 / Open Inference Protocol over gRPC (`inference.GRPCInferenceService`,
 * protos/kserve/open_inference_grpc.proto; specification/protocol/inference_grpc.md), sharing src/api/kserve-v2.ts
 * with the REST routes. Tensors come as typed `contents` or as `raw_input_contents` (little-endian, one entry per
 * input, the fast path); a request that sends raw inputs gets `raw_output_contents` back, as Triton answers.
 */
type Contents = {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
};

type InferInput = { name?: string; datatype?: string; shape?: string[]; contents?: Contents };
type InferRequest = {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, { string_param?: string }>;
  inputs?: InferInput[];
  outputs?: { name?: string }[];
  raw_input_contents?: Uint8Array[];
};

/** Which InferTensorContents field carries each datatype (inference_grpc.md, "Tensor Data"). */
const CONTENTS_FIELD: Record<V2Datatype, keyof Contents | undefined> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

export function inferenceServiceImpl(deps: TfServingGrpcDeps): UntypedServiceImplementation {
  const { manager } = deps;
  return unaryService('inference.GRPCInferenceService', deps, {
    ServerLive: async () => ({ live: true }),
    ServerReady: async () => ({ ready: manager.isReady() }),
    ModelReady: async (r: { name?: string; version?: string }) => ({
      ready: v2ModelReady(manager, r.name ?? '', parseV2Version(r.version)),
    }),
    ServerMetadata: async () => v2ServerMetadata(),
    ModelMetadata: async (r: { name?: string; version?: string }) => {
      const m = v2ModelMetadata(manager, r.name ?? '', parseV2Version(r.version));
      const wire = (ts: typeof m.inputs) => ts.map((t) => ({ ...t, shape: t.shape.map(String) }));
      return { ...m, inputs: wire(m.inputs), outputs: wire(m.outputs) };
    },
    ModelInfer: async (r: InferRequest) => {
      refuseWhenOverloaded(deps.service, r.model_name);
      const raw = (r.raw_input_contents ?? []).length > 0;
      const result = await runV2Infer(deps.service, {
        model: r.model_name ?? '',
        version: parseV2Version(r.model_version),
        ...(r.id ? { id: r.id } : {}),
        signatureName: r.parameters?.signature_name?.string_param,
        inputs: (r.inputs ?? []).map((input, i) =>
          decodeInput(input, raw ? r.raw_input_contents![i] : undefined, raw),
        ),
        ...(r.outputs?.length ? { outputs: r.outputs.map((o) => o.name ?? '') } : {}),
      });
      const outputs = result.outputs.map(({ name, datatype, tensor }) => ({
        name,
        datatype,
        shape: tensor.shape.map(String),
        ...(raw ? {} : { contents: contentsOf(tensor, datatype) }),
      }));
      return {
        model_name: result.modelName,
        model_version: result.modelVersion,
        id: result.id ?? '',
        outputs,
        ...(raw ? { raw_output_contents: result.outputs.map((o) => rawOf(o.tensor)) } : {}),
      };
    },
  });
}

function decodeInput(input: InferInput, rawBytes: Uint8Array | undefined, raw: boolean): V2InferInput {
  const name = input.name ?? '';
  const where = `input "${name}"`;
  const dtype = tfDtypeOfV2(input.datatype, where);
  const tensor_shape = { dim: (input.shape ?? []).map((size) => ({ size })) };
  if (raw) {
    if (rawBytes === undefined) bad(`${where}: raw_input_contents has no entry for it`);
    if (dtype === 'DT_STRING') bad(`${where}: send BYTES inputs in contents.bytes_contents`);
    return { name, tensor: hostFromWire({ dtype, tensor_shape, tensor_content: rawBytes }, where) };
  }
  const field = CONTENTS_FIELD[input.datatype as V2Datatype];
  if (!field) bad(`${where}: ${input.datatype} inputs go in raw_input_contents`);
  const values = (input.contents?.[field] ?? []) as unknown[];
  const count = tensor_shape.dim.reduce((a, d) => a * Number(d.size), 1);
  if (values.length !== count)
    bad(`${where}: shape [${input.shape}] needs ${count} values, contents has ${values.length}`);
  const wire: WireTensor = { dtype, tensor_shape };
  if (field === 'bool_contents') wire.bool_val = values as boolean[];
  else if (field === 'int64_contents') wire.int64_val = values as string[];
  else if (field === 'fp32_contents') wire.float_val = values as number[];
  else if (field === 'fp64_contents') wire.double_val = values as number[];
  else if (field === 'bytes_contents') wire.string_val = values as Uint8Array[];
  else wire.int_val = values as number[];
  return { name, tensor: hostFromWire(wire, where) };
}

function contentsOf(tensor: HostTensor, datatype: V2Datatype): Contents {
  const field = CONTENTS_FIELD[datatype];
  if (!field)
    bad(`output of datatype ${datatype} can only be sent raw; send the inputs in raw_input_contents`);
  const w = hostToWire(tensor, false);
  const values = w.float_val ?? w.double_val ?? w.int_val ?? w.int64_val ?? w.bool_val ?? w.string_val ?? [];
  return { [field]: values };
}

/** One output's raw bytes: little-endian values; BYTES as 4-byte little-endian length + bytes per element. */
function rawOf(tensor: HostTensor): Uint8Array {
  if (tensor.dtype !== 'DT_STRING') return hostToWire(tensor, true).tensor_content ?? new Uint8Array(0);
  // Triton's documented raw layout for BYTES (no library writes it): each element prefixed by its length.
  const parts = (tensor.values as (string | Uint8Array)[]).map((s) =>
    typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s.buffer, s.byteOffset, s.byteLength),
  );
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function bad(message: string): never {
  throw new CtrError('CTR_ERR_BAD_REQUEST', message);
}

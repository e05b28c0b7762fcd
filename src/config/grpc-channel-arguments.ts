import { CtrError } from '../errors/registry.ts';

/** ServingConfig.grpc: the gRPC server of `serve` (src/grpc/grpc-server.ts); `port` 0 = off. */
export type GrpcConfig = {
  readonly port: number;
  /** grpc-js server options from --grpc_channel_arguments, message size limits always set. */
  readonly channelArguments: Readonly<Record<string, string | number>>;
  /** Predict's outputs as tensor_content (TF Serving's --enable_serialization_as_tensor_content). */
  readonly tensorContent: boolean;
};

/**
 * `--grpc_channel_arguments` as TF Serving parses it (model_servers/server.cc, parseGrpcChannelArgs): `k=v`
 * pairs separated by commas, a value that parses as an int32 passed as a number, else as a string. Message size
 * limits default to --max_body_bytes for receiving (TF Serving: INT32_MAX; ctr-serve bounds gRPC bodies as it bounds
 * REST bodies) and INT32_MAX for sending.
 */
export function grpcChannelArguments(
  text: string | undefined,
  maxBodyBytes: number,
): Record<string, string | number> {
  const args: Record<string, string | number> = {
    'grpc.max_receive_message_length': maxBodyBytes,
    'grpc.max_send_message_length': 2 ** 31 - 1,
  };
  for (const pair of (text ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new CtrError('CTR_ERR_INVALID_CONFIG', `--grpc_channel_arguments: "${pair}" is not key=value`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const n = Number(value);
    args[key] = /^-?\d+$/.test(value) && n >= -(2 ** 31) && n < 2 ** 31 ? n : value;
  }
  return args;
}

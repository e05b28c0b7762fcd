import { messageType, type MessageName } from './schema.ts';
import { toMessage } from './to-message.ts';
import type { BundleEntryProto, BundleHeaderProto, GraphDef, SavedModel } from './types.ts';

/**
 * Binary protobuf encoders, the inverse of decode.ts: decode(encode(x)) deep-equals x for anything decode
 * returned. What a types.ts object holds is written, with the field numbers of TensorFlow's .proto files
 * (schema.ts), so TensorFlow reads the result; fields a decoded file had outside READ_FIELDS are not carried over. Pure
 * functions: no I/O. Callers pass well-formed objects of types.ts; int64 fields given as numbers must be safe
 * integers.
 */

function encodeAs(name: MessageName, obj: object): Uint8Array {
  const type = messageType(name);
  const bytes = type.encode(toMessage(type, obj as Record<string, unknown>)).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeGraphDef(g: GraphDef): Uint8Array {
  return encodeAs('GraphDef', g);
}

export function encodeSavedModel(sm: SavedModel): Uint8Array {
  return encodeAs('SavedModel', sm);
}

export function encodeBundleHeader(h: BundleHeaderProto): Uint8Array {
  return encodeAs('BundleHeaderProto', h);
}

export function encodeBundleEntry(e: BundleEntryProto): Uint8Array {
  return encodeAs('BundleEntryProto', e);
}

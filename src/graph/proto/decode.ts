import { CtrError } from '../../errors/registry.ts';
import { fromMessage } from './from-message.ts';
import { messageType, type MessageName } from './schema.ts';
import type {
  AssetFileDef,
  BundleEntryProto,
  BundleHeaderProto,
  GraphDef,
  MetaGraphDef,
  SavedModel,
  TrackableObjectGraph,
} from './types.ts';

/**
 * Binary protobuf decoders for TensorFlow files. Pure functions of their bytes: no I/O, no tensors.
 * `source` names the file (or the file and key) in error messages.
 *
 * Failures: CTR_ERR_TEXT_PROTO_UNSUPPORTED when the bytes are text-format protobuf (.pbtxt);
 * CTR_ERR_PROTO_DECODE for anything protobufjs refuses (truncated, wrong wire type, bad length, too deep) and
 * for int64 values that do not fit a JS number where the types say number. Bytes fields of the result alias
 * `bytes`: copy before mutating.
 */

const TEXT_PROBE_BYTES = 512;

/** Text format is printable ASCII opening with `field {` or `field:` (after optional `#` comment lines). */
export function looksLikeTextProto(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, TEXT_PROBE_BYTES);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) && !(c >= 0x80 && i > 0)) return false;
  }
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1');
  return /^(\s*#[^\n]*\n)*\s*[A-Za-z_][A-Za-z0-9_]*\s*(\{|:)/.test(head);
}

function decodeAs(
  name: MessageName,
  bytes: Uint8Array,
  source: string,
  fileLevel = true,
): Record<string, unknown> {
  if (fileLevel && looksLikeTextProto(bytes)) {
    throw new CtrError(
      'CTR_ERR_TEXT_PROTO_UNSUPPORTED',
      `${source} is a text-format protobuf (${name}); only binary protobuf is supported (convert it with TensorFlow, e.g. text_format.Parse then SerializeToString)`,
    );
  }
  const type = messageType(name);
  try {
    const msg = type.decode(bytes) as unknown as Record<string, unknown>;
    return fromMessage(type, msg);
  } catch (err) {
    const what = err instanceof Error ? err.message : String(err);
    throw new CtrError('CTR_ERR_PROTO_DECODE', `${source}: cannot decode ${name}: ${what}`, { cause: err });
  }
}

export function decodeGraphDef(bytes: Uint8Array, source: string): GraphDef {
  return decodeAs('GraphDef', bytes, source) as unknown as GraphDef;
}

// google.protobuf.Any comes with protobufjs as a JSON descriptor, so its field names stay as any.proto spells them.
type AnyProto = { type_url: string; value?: Uint8Array };
type RawMetaGraph = Omit<MetaGraphDef, 'collectionDef'> & {
  collectionDef?: Record<string, { anyList?: { value: AnyProto[] }; nodeList?: { value: string[] } }>;
};

/**
 * TF1 exports list their assets only in collection_def["saved_model_assets"]; TensorFlow's loader falls back to
 * it when asset_file_def is empty, and so does this decoder. Of the collections only node lists are returned.
 */
function assetsFromCollection(mg: RawMetaGraph, source: string): void {
  const anys = mg.collectionDef?.saved_model_assets?.anyList?.value ?? [];
  const lists = Object.entries(mg.collectionDef ?? {}).flatMap(([k, c]) =>
    c.nodeList ? [[k, { nodeList: { value: c.nodeList.value ?? [] } }] as const] : [],
  );
  if (lists.length) mg.collectionDef = Object.fromEntries(lists);
  else delete mg.collectionDef;
  if (mg.assetFileDef.length > 0) return;
  for (const any of anys) {
    if (!any.type_url.endsWith('/tensorflow.AssetFileDef')) continue;
    const asset = decodeAs(
      'AssetFileDef',
      any.value ?? new Uint8Array(0),
      `${source} (saved_model_assets)`,
      false,
    );
    mg.assetFileDef.push(asset as unknown as AssetFileDef);
  }
}

export function decodeSavedModel(bytes: Uint8Array, source: string): SavedModel {
  const sm = decodeAs('SavedModel', bytes, source) as unknown as SavedModel;
  for (const mg of sm.metaGraphs) assetsFromCollection(mg as RawMetaGraph, source);
  return sm;
}

export function decodeTrackableObjectGraph(bytes: Uint8Array, source: string): TrackableObjectGraph {
  return decodeAs('TrackableObjectGraph', bytes, source, false) as unknown as TrackableObjectGraph;
}

export function decodeBundleHeader(bytes: Uint8Array, source: string): BundleHeaderProto {
  return decodeAs('BundleHeaderProto', bytes, source, false) as unknown as BundleHeaderProto;
}

export function decodeBundleEntry(bytes: Uint8Array, source: string): BundleEntryProto {
  return decodeAs('BundleEntryProto', bytes, source, false) as unknown as BundleEntryProto;
}

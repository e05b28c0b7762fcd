import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type {
  AssetFileDef,
  AttrListValue,
  AttrValue,
  BundleEntryProto,
  BundleHeaderProto,
  FunctionDef,
  FunctionDefLibrary,
  GraphDef,
  MetaGraphDef,
  NameAttrList,
  NodeDef,
  OpDef,
  SaverDef,
  SavedModel,
  SavedObjectGraph,
  SignatureDef,
  TensorInfo,
  TensorProto,
  TensorShapeProto,
  TrackableObjectGraph,
} from './types.ts';

/**
 * TensorFlow's messages as protobufjs reflection, loaded from TensorFlow's own .proto files vendored in the
 * repository's protos/ (graph.proto, saved_model.proto and what they import, tensor_bundle.proto; provenance and
 * licence in protos/README.md): field numbers, wire types and enums are TensorFlow's, not restated here.
 * Field names are camelCase (protobufjs's default), as types.ts spells them.
 *
 * ctr-serve reads a subset of each message (types.ts): READ_FIELDS lists it, checked against types.ts by the
 * compiler. Decoding (from-message.ts) returns those fields only; the others are read off the wire and dropped,
 * so a file that carries them decodes as before, and the encoder writes what a types.ts object holds.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../../protos/', import.meta.url));

export const protoRoot: protobuf.Root = new protobuf.Root();
protoRoot.resolvePath = (_origin, target) => join(PROTO_DIR, target);
protoRoot.loadSync([
  'tensorflow/core/framework/graph.proto',
  'tensorflow/core/protobuf/saved_model.proto',
  'tensorflow/core/protobuf/tensor_bundle.proto',
]);
protoRoot.resolveAll();

export type MessageName =
  | 'GraphDef'
  | 'SavedModel'
  | 'TrackableObjectGraph'
  | 'AssetFileDef'
  | 'TensorProto'
  | 'BundleHeaderProto'
  | 'BundleEntryProto';

export function messageType(name: MessageName): protobuf.Type {
  return protoRoot.lookupType(`tensorflow.${name}`);
}

/** Fields whose int64 values are data, decoded as bigint; every other int64 is a safe-integer JS number. */
export const BIGINT_FIELDS: ReadonlySet<string> = new Set([
  'tensorflow.TensorProto.int64Val',
  'tensorflow.TensorProto.uint64Val',
]);

/**
 * `fieldsOf<T>()(...names)`: the names, which the compiler checks are exactly T's keys (less `Skip`): a field
 * added to a types.ts shape and not read here, or read here and not in the shape, fails the typecheck.
 */
const fieldsOf =
  <T, Skip extends string = never>() =>
  <const K extends readonly Exclude<keyof T & string, Skip>[]>(
    ...names: K & (Exclude<keyof T & string, Skip | K[number]> extends never ? unknown : never)
  ): readonly string[] =>
    names;

type SavedObject = SavedObjectGraph['nodes'][number];
type TrackableObject = TrackableObjectGraph['nodes'][number];
type MetaInfoDef = NonNullable<MetaGraphDef['metaInfoDef']>;
type ArgDef = OpDef['inputArg'][number];
type AttrDef = OpDef['attr'][number];
type VersionDef = NonNullable<GraphDef['versions']>;
type CollectionDef = NonNullable<MetaGraphDef['collectionDef']>[string];

/**
 * The fields ctr-serve reads, by message (full name). SavedObject's `kind` is not a field: from-message.ts
 * derives it from the message's `kind` oneof. google.protobuf.Any is read for TF1's "saved_model_assets"
 * collection (decode.ts), CollectionDef's `anyList` likewise; decode.ts keeps node lists only.
 */
export const READ_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['.tensorflow.TensorShapeProto', fieldsOf<TensorShapeProto>()('dim', 'unknownRank')],
  ['.tensorflow.TensorShapeProto.Dim', fieldsOf<TensorShapeProto['dim'][number]>()('size', 'name')],
  [
    '.tensorflow.TensorProto',
    fieldsOf<TensorProto>()(
      'dtype',
      'tensorShape',
      'versionNumber',
      'tensorContent',
      'halfVal',
      'floatVal',
      'doubleVal',
      'intVal',
      'stringVal',
      'int64Val',
      'boolVal',
      'uint32Val',
      'uint64Val',
    ),
  ],
  [
    '.tensorflow.AttrValue',
    fieldsOf<AttrValue>()('s', 'i', 'f', 'b', 'type', 'shape', 'tensor', 'list', 'func', 'placeholder'),
  ],
  [
    '.tensorflow.AttrValue.ListValue',
    fieldsOf<AttrListValue>()('s', 'i', 'f', 'b', 'type', 'shape', 'tensor', 'func'),
  ],
  ['.tensorflow.NameAttrList', fieldsOf<NameAttrList>()('name', 'attr')],
  ['.tensorflow.NodeDef', fieldsOf<NodeDef>()('name', 'op', 'input', 'device', 'attr')],
  [
    '.tensorflow.OpDef',
    fieldsOf<OpDef>()('name', 'inputArg', 'outputArg', 'controlOutput', 'attr', 'isStateful'),
  ],
  [
    '.tensorflow.OpDef.ArgDef',
    fieldsOf<ArgDef>()('name', 'description', 'type', 'typeAttr', 'numberAttr', 'typeListAttr'),
  ],
  ['.tensorflow.OpDef.AttrDef', fieldsOf<AttrDef>()('name', 'type', 'defaultValue')],
  ['.tensorflow.FunctionDef', fieldsOf<FunctionDef>()('signature', 'attr', 'nodeDef', 'ret', 'controlRet')],
  ['.tensorflow.FunctionDefLibrary', fieldsOf<FunctionDefLibrary>()('function')],
  ['.tensorflow.VersionDef', fieldsOf<VersionDef>()('producer', 'minConsumer', 'badConsumers')],
  ['.tensorflow.GraphDef', fieldsOf<GraphDef>()('node', 'versions', 'library')],
  ['.tensorflow.TensorInfo', fieldsOf<TensorInfo>()('name', 'dtype', 'tensorShape')],
  ['.tensorflow.SignatureDef', fieldsOf<SignatureDef>()('inputs', 'outputs', 'methodName')],
  ['.tensorflow.AssetFileDef', fieldsOf<AssetFileDef>()('tensorInfo', 'filename')],
  [
    '.tensorflow.MetaGraphDef',
    fieldsOf<MetaGraphDef>()(
      'metaInfoDef',
      'graphDef',
      'saverDef',
      'collectionDef',
      'signatureDef',
      'assetFileDef',
      'objectGraphDef',
    ),
  ],
  [
    '.tensorflow.MetaGraphDef.MetaInfoDef',
    fieldsOf<MetaInfoDef>()('metaGraphVersion', 'tags', 'tensorflowVersion', 'tensorflowGitVersion'),
  ],
  ['.tensorflow.CollectionDef', [...fieldsOf<CollectionDef>()('nodeList'), 'anyList']],
  ['.tensorflow.CollectionDef.NodeList', ['value']],
  ['.tensorflow.CollectionDef.AnyList', ['value']],
  // protobufjs's bundled google/protobuf/any.proto keeps the field names as written (type_url).
  ['.google.protobuf.Any', ['type_url', 'value']],
  ['.tensorflow.SaverDef', fieldsOf<SaverDef>()('filenameTensorName', 'saveTensorName', 'restoreOpName')],
  ['.tensorflow.SavedModel', fieldsOf<SavedModel>()('savedModelSchemaVersion', 'metaGraphs')],
  ['.tensorflow.SavedObjectGraph', fieldsOf<SavedObjectGraph>()('nodes', 'concreteFunctions')],
  ['.tensorflow.SavedObject', fieldsOf<SavedObject, 'kind'>()('children', 'variable', 'function')],
  ['.tensorflow.SavedVariable', fieldsOf<NonNullable<SavedObject['variable']>>()('dtype', 'shape', 'name')],
  ['.tensorflow.SavedFunction', fieldsOf<NonNullable<SavedObject['function']>>()('concreteFunctions')],
  [
    '.tensorflow.SavedConcreteFunction',
    fieldsOf<SavedObjectGraph['concreteFunctions'][string]>()('boundInputs'),
  ],
  ['.tensorflow.TrackableObjectGraph', fieldsOf<TrackableObjectGraph>()('nodes')],
  ['.tensorflow.TrackableObjectGraph.TrackableObject', fieldsOf<TrackableObject>()('children', 'attributes')],
  [
    '.tensorflow.TrackableObjectGraph.TrackableObject.ObjectReference',
    fieldsOf<TrackableObject['children'][number]>()('nodeId', 'localName'),
  ],
  [
    '.tensorflow.TrackableObjectGraph.TrackableObject.SerializedTensor',
    fieldsOf<TrackableObject['attributes'][number]>()('name', 'fullName', 'checkpointKey'),
  ],
  ['.tensorflow.TensorSliceProto', ['extent']],
  ['.tensorflow.TensorSliceProto.Extent', ['start', 'length']],
  ['.tensorflow.BundleHeaderProto', fieldsOf<BundleHeaderProto>()('numShards', 'endianness', 'version')],
  [
    '.tensorflow.BundleEntryProto',
    fieldsOf<BundleEntryProto>()('dtype', 'shape', 'shardId', 'offset', 'size', 'crc32c', 'slices'),
  ],
]);

/**
 * Plain TypeScript shapes of the TensorFlow protos ctr-serve reads and writes: only the subset it needs, with
 * TensorFlow's field names in camelCase. Sources: tensorflow/core/framework/{graph,node_def,attr_value,tensor,
 * tensor_shape,types,function,op_def}.proto, core/protobuf/{meta_graph,saved_model,saved_object_graph,
 * trackable_object_graph,tensor_bundle}.proto (vendored in protos/; schema.ts loads them and its READ_FIELDS, checked
 * against these shapes by the compiler, says which fields the decoder returns).
 *
 * Integer conventions: int64 fields that are sizes, dims, attr `i` values and offsets are JS numbers (the decoder
 * refuses values outside the safe-integer range with CTR_ERR_PROTO_DECODE); int64 tensor payloads
 * (`int64Val`, `uint64Val`) are bigint, since they are data.
 * Bytes fields are Uint8Array views (they may alias the file buffer: copy before mutating).
 */

/** tensorflow/core/framework/types.proto DataType (the values ctr-serve handles; others pass through as numbers). */
export const DataType = {
  DT_INVALID: 0,
  DT_FLOAT: 1,
  DT_DOUBLE: 2,
  DT_INT32: 3,
  DT_UINT8: 4,
  DT_INT16: 5,
  DT_INT8: 6,
  DT_STRING: 7,
  DT_COMPLEX64: 8,
  DT_INT64: 9,
  DT_BOOL: 10,
  DT_BFLOAT16: 14,
  DT_UINT16: 17,
  DT_HALF: 19,
  DT_RESOURCE: 20,
  DT_VARIANT: 21,
  DT_UINT32: 22,
  DT_UINT64: 23,
} as const;
export type DataTypeName = keyof typeof DataType;

export type TensorShapeProto = {
  /** Each dim's size; -1 is unknown. */
  dim: { size: number; name?: string }[];
  unknownRank: boolean;
};

export type TensorProto = {
  dtype: number;
  tensorShape?: TensorShapeProto;
  versionNumber?: number;
  tensorContent?: Uint8Array;
  halfVal?: number[];
  floatVal?: number[];
  doubleVal?: number[];
  intVal?: number[];
  stringVal?: Uint8Array[];
  int64Val?: bigint[];
  boolVal?: boolean[];
  uint32Val?: number[];
  uint64Val?: bigint[];
};

export type NameAttrList = { name: string; attr: Record<string, AttrValue> };

export type AttrListValue = {
  s?: Uint8Array[];
  i?: number[];
  f?: number[];
  b?: boolean[];
  type?: number[];
  shape?: TensorShapeProto[];
  tensor?: TensorProto[];
  func?: NameAttrList[];
};

/** Exactly one field is set (the proto's `oneof value`). */
export type AttrValue = {
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: number;
  shape?: TensorShapeProto;
  tensor?: TensorProto;
  list?: AttrListValue;
  func?: NameAttrList;
  placeholder?: string;
};

export type NodeDef = {
  name: string;
  op: string;
  /** "node", "node:1", "^control_node"; inside a FunctionDef also "node:out_arg:0". */
  input: string[];
  device?: string;
  attr: Record<string, AttrValue>;
};

export type ArgDef = {
  name: string;
  description?: string;
  type: number;
  typeAttr?: string;
  numberAttr?: string;
  typeListAttr?: string;
};

export type OpDef = {
  name: string;
  inputArg: ArgDef[];
  outputArg: ArgDef[];
  controlOutput?: string[];
  attr: { name: string; type: string; defaultValue?: AttrValue }[];
  isStateful?: boolean;
};

export type FunctionDef = {
  signature: OpDef;
  attr: Record<string, AttrValue>;
  nodeDef: NodeDef[];
  /** output arg name → "node:out_arg:index" */
  ret: Record<string, string>;
  controlRet?: Record<string, string>;
};

export type FunctionDefLibrary = { function: FunctionDef[] };

export type GraphDef = {
  node: NodeDef[];
  library?: FunctionDefLibrary;
  versions?: { producer: number; minConsumer: number; badConsumers?: number[] };
};

export type TensorInfo = {
  /** Tensor name in the graph, "node:0". Unset for sparse/composite tensors. */
  name?: string;
  dtype: number;
  tensorShape?: TensorShapeProto;
};

export type SignatureDef = {
  inputs: Record<string, TensorInfo>;
  outputs: Record<string, TensorInfo>;
  methodName: string;
};

export type AssetFileDef = { tensorInfo?: TensorInfo; filename: string };

export type SaverDef = {
  filenameTensorName: string;
  saveTensorName: string;
  restoreOpName: string;
};

/** Subset of saved_object_graph.proto: enough to map TF2 variables to checkpoint keys and find functions. */
export type SavedObjectGraph = {
  nodes: {
    children: { nodeId: number; localName: string }[];
    kind?:
      | 'variable'
      | 'function'
      | 'bareConcreteFunction'
      | 'constant'
      | 'resource'
      | 'asset'
      | 'userObject'
      | 'other';
    variable?: { dtype: number; shape?: TensorShapeProto; name: string };
    function?: { concreteFunctions: string[] };
  }[];
  concreteFunctions: Record<string, { boundInputs: number[] }>;
};

export type MetaGraphDef = {
  metaInfoDef?: {
    metaGraphVersion?: string;
    tags: string[];
    tensorflowVersion?: string;
    tensorflowGitVersion?: string;
  };
  graphDef?: GraphDef;
  saverDef?: SaverDef;
  signatureDef: Record<string, SignatureDef>;
  assetFileDef: AssetFileDef[];
  objectGraphDef?: SavedObjectGraph;
  /** Node-list collections only (TF1 "legacy_init_op", "saved_model_main_op", …). */
  collectionDef?: Record<string, { nodeList?: { value: string[] } }>;
};

export type SavedModel = { savedModelSchemaVersion: number; metaGraphs: MetaGraphDef[] };

/** trackable_object_graph.proto, stored in a TF2 checkpoint under the key "_CHECKPOINTABLE_OBJECT_GRAPH". */
export type TrackableObjectGraph = {
  nodes: {
    children: { nodeId: number; localName: string }[];
    /** name "VARIABLE_VALUE"; fullName is the variable's shared_name; checkpointKey the bundle key. */
    attributes: { name: string; fullName: string; checkpointKey: string }[];
  }[];
};

/** tensor_bundle.proto */
export type BundleHeaderProto = {
  numShards: number;
  endianness: number;
  version?: { producer: number; minConsumer?: number; badConsumers?: number[] };
};
export type BundleEntryProto = {
  dtype: number;
  shape?: TensorShapeProto;
  shardId: number;
  offset: number;
  size: number;
  crc32c: number;
  slices: unknown[];
};

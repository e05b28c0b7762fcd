import protobuf from 'protobufjs';

/**
 * The subset of TensorFlow's protos that ctr-serve reads and writes, as protobufjs reflection parsed from proto
 * text. Field numbers are TensorFlow's, copied from:
 *   tensorflow/core/framework/{types,tensor_shape,tensor,attr_value,node_def,function,op_def,graph,versions,
 *   tensor_slice}.proto and tensorflow/core/protobuf/{meta_graph,saver,saved_model,saved_object_graph,
 *   trackable_object_graph,tensor_bundle}.proto.
 * Fields ctr-serve never needs (debug info, most of collection_def, stripped_op_list, struct.proto's StructuredValue
 * signatures, resource/variant/complex payloads, ...) are left out: protobufjs skips unknown fields on decode, so
 * files that carry them still decode, and the encoder simply does not write them.
 *
 * Enums (DataType, endianness) are declared as int32: same varint wire format, and unknown values stay numbers.
 * The SavedObject `kind` members ctr-serve does not use are declared as empty messages only so that the decoder
 * can tell which kind a node is.
 */
const PROTO = `
syntax = "proto3";
package tensorflow;

// tensor_shape.proto
message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

// tensor.proto (resource_handle_val = 14, variant_val = 15, complex and float8 payloads omitted)
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13;
  repeated float float_val = 5;
  repeated double double_val = 6;
  repeated int32 int_val = 7;
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10;
  repeated bool bool_val = 11;
  repeated uint32 uint32_val = 16;
  repeated uint64 uint64_val = 17;
}

// attr_value.proto
message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3;
    repeated float f = 4;
    repeated bool b = 5;
    repeated int32 type = 6;
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
    repeated NameAttrList func = 9;
  }
  oneof value {
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    int32 type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    ListValue list = 1;
    NameAttrList func = 10;
    string placeholder = 9;
  }
}
message NameAttrList {
  string name = 1;
  map<string, AttrValue> attr = 2;
}

// node_def.proto (experimental_debug_info = 6, experimental_type = 7 omitted)
message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
}

// op_def.proto
message OpDef {
  message ArgDef {
    string name = 1;
    string description = 2;
    int32 type = 3;
    string type_attr = 4;
    string number_attr = 5;
    string type_list_attr = 6;
  }
  message AttrDef {
    string name = 1;
    string type = 2;
    AttrValue default_value = 3;
  }
  string name = 1;
  repeated ArgDef input_arg = 2;
  repeated ArgDef output_arg = 3;
  repeated string control_output = 20;
  repeated AttrDef attr = 4;
  bool is_stateful = 17;
}

// function.proto (arg_attr = 7, resource_arg_unique_id = 8, gradient = 2 omitted)
message FunctionDef {
  OpDef signature = 1;
  map<string, AttrValue> attr = 5;
  repeated NodeDef node_def = 3;
  map<string, string> ret = 4;
  map<string, string> control_ret = 6;
}
message FunctionDefLibrary {
  repeated FunctionDef function = 1;
}

// versions.proto
message VersionDef {
  int32 producer = 1;
  int32 min_consumer = 2;
  repeated int32 bad_consumers = 3;
}

// graph.proto
message GraphDef {
  repeated NodeDef node = 1;
  VersionDef versions = 4;
  FunctionDefLibrary library = 2;
}

// meta_graph.proto
message TensorInfo {
  oneof encoding {
    string name = 1;
  }
  int32 dtype = 2;
  TensorShapeProto tensor_shape = 3;
}
message SignatureDef {
  map<string, TensorInfo> inputs = 1;
  map<string, TensorInfo> outputs = 2;
  string method_name = 3;
}
message AssetFileDef {
  TensorInfo tensor_info = 1;
  string filename = 2;
}
message MetaGraphDef {
  message MetaInfoDef {
    string meta_graph_version = 1;
    repeated string tags = 4;
    string tensorflow_version = 5;
    string tensorflow_git_version = 6;
  }
  MetaInfoDef meta_info_def = 1;
  GraphDef graph_def = 2;
  SaverDef saver_def = 3;
  map<string, CollectionDef> collection_def = 4;
  map<string, SignatureDef> signature_def = 5;
  repeated AssetFileDef asset_file_def = 6;
  SavedObjectGraph object_graph_def = 7;
}

// node_list (= 1) and any_list (= 5) of CollectionDef: TF1 exports name their init op in collection_def
// "legacy_init_op" / "saved_model_main_op" (node_list) and keep their AssetFileDefs in "saved_model_assets" as
// google.protobuf.Any (type_url = 1, value = 2).
message Any {
  string type_url = 1;
  bytes value = 2;
}
message CollectionDef {
  message NodeList { repeated string value = 1; }
  message AnyList { repeated Any value = 1; }
  oneof kind {
    NodeList node_list = 1;
    AnyList any_list = 5;
  }
}

// saver.proto
message SaverDef {
  string filename_tensor_name = 1;
  string save_tensor_name = 2;
  string restore_op_name = 3;
}

// saved_model.proto
message SavedModel {
  int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;
}

// saved_object_graph.proto
message SavedObjectGraph {
  repeated SavedObject nodes = 1;
  map<string, SavedConcreteFunction> concrete_functions = 2;
}
message SavedObject {
  message Unused {}
  repeated TrackableObjectGraph.TrackableObject.ObjectReference children = 1;
  oneof kind {
    Unused user_object = 4;
    Unused asset = 5;
    SavedFunction function = 6;
    SavedVariable variable = 7;
    Unused bare_concrete_function = 8;
    Unused constant = 9;
    Unused resource = 10;
    Unused captured_tensor = 12;
  }
}
message SavedVariable {
  int32 dtype = 1;
  TensorShapeProto shape = 2;
  string name = 6;
}
message SavedFunction {
  repeated string concrete_functions = 1;
}
message SavedConcreteFunction {
  repeated int32 bound_inputs = 2;
}

// trackable_object_graph.proto
message TrackableObjectGraph {
  message TrackableObject {
    message ObjectReference { int32 node_id = 1; string local_name = 2; }
    message SerializedTensor { string name = 1; string full_name = 2; string checkpoint_key = 3; }
    repeated ObjectReference children = 1;
    repeated SerializedTensor attributes = 2;
  }
  repeated TrackableObject nodes = 1;
}

// tensor_slice.proto
message TensorSliceProto {
  message Extent {
    int64 start = 1;
    oneof has_length { int64 length = 2; }
  }
  repeated Extent extent = 1;
}

// tensor_bundle.proto (endianness is enum Endianness { LITTLE = 0; BIG = 1; })
message BundleHeaderProto {
  int32 num_shards = 1;
  int32 endianness = 2;
  VersionDef version = 3;
}
message BundleEntryProto {
  int32 dtype = 1;
  TensorShapeProto shape = 2;
  int32 shard_id = 3;
  int64 offset = 4;
  int64 size = 5;
  fixed32 crc32c = 6;
  repeated TensorSliceProto slices = 7;
}
`;

export const protoRoot: protobuf.Root = protobuf.parse(PROTO).root;
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

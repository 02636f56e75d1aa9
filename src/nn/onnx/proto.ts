import protobuf from "protobufjs";

/**
 * The part of ONNX's `onnx.proto` (IR version 8, field numbers from the ONNX specification)
 * that an exported teacher uses: a model with one graph of nodes, float initializers, typed
 * inputs and outputs, and string metadata. Fields we never write are left out; protobuf
 * readers skip what they do not know, and ONNX Runtime needs nothing more.
 */
const ONNX_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional AttributeType type = 20;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6;
    INT64 = 7; STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;

export const ModelProto = root.lookupType("onnx.ModelProto");

/** `onnx.TensorProto.DataType` values we use. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** `onnx.AttributeProto.AttributeType` values we use. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

/** ONNX IR version 8 (ONNX 1.10+), the first that ONNX Runtime 1.x reads with opset 13. */
export const IR_VERSION = 8;

export interface Attribute {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
  readonly s?: Uint8Array;
  readonly ints?: readonly number[];
}

export interface Node {
  readonly name: string;
  readonly op_type: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly attribute: readonly Attribute[];
}

export interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data_type: number;
  readonly raw_data: Uint8Array;
}

/** A dimension is a fixed size or a named free one (the batch). */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly type: {
    tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } };
  };
}

export interface Model {
  readonly ir_version: number;
  readonly producer_name: string;
  readonly producer_version: string;
  readonly opset_import: readonly { domain: string; version: number }[];
  readonly graph: {
    readonly name: string;
    readonly node: readonly Node[];
    readonly initializer: readonly Tensor[];
    readonly input: readonly ValueInfo[];
    readonly output: readonly ValueInfo[];
  };
  readonly metadata_props: readonly { key: string; value: string }[];
}

export function floatValueInfo(name: string, dims: readonly Dim[]): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** A float32 initializer; raw_data is little-endian, as the ONNX specification requires. */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): Tensor {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return { name, dims, data_type: DataType.FLOAT, raw_data: raw };
}

export function int64Tensor(name: string, values: readonly number[]): Tensor {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(8 * i, BigInt(values[i]), true);
  return { name, dims: [values.length], data_type: DataType.INT64, raw_data: raw };
}

export function encodeModel(m: Model): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

/** Decodes a model file's bytes with numbers (int64 fields) as plain numbers. */
export function decodeModel(bytes: Uint8Array): Model {
  return ModelProto.toObject(ModelProto.decode(bytes), {
    longs: Number,
    defaults: false,
    arrays: true,
  }) as Model;
}

/**
 * tf.Example for the rest of ctr-serve (graph/'s top-level entry to graph/example/): TensorFlow's Example and
 * Feature protos encoded and decoded with protobufjs from the vendored .proto files, with bounded decoding.
 */
export {
  decodeExample,
  encodeExample,
  EXAMPLE_LIMITS,
  type ExampleFeatures,
  type Feature,
} from './example/example-codec.ts';

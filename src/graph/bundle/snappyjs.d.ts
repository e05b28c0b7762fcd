/** snappyjs 0.7 ships no types; only the two functions ctr-serve calls. */
declare module 'snappyjs' {
  /** Throws when the stream is invalid or would expand beyond maxLength bytes. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  const snappy: { uncompress: typeof uncompress; compress: typeof compress };
  export default snappy;
}

import { isCtrError } from '../errors/registry.ts';

/**
 * What the manager reports about each version, in TF Serving's words (GetModelStatus): a state, and a
 * canonical error code with a message when a load failed.
 */

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export type VersionStatus = {
  readonly version: number;
  readonly state: VersionState;
  /** TF Serving's canonical code: 'OK', or e.g. 'UNKNOWN', 'NOT_FOUND', 'INVALID_ARGUMENT'. */
  readonly errorCode: string;
  /** Empty when OK; else `CTR_ERR_X: message`. */
  readonly errorMessage: string;
};

export type VersionEvent = VersionStatus & {
  readonly model: string;
  /** Seconds the load (read + warm-up + verify) took, on AVAILABLE and failed END events. */
  readonly loadSeconds?: number;
};

/** TF Serving's canonical status codes for a failed load, as its status API reports them. */
export function tfStatusCode(err: unknown): string {
  if (!isCtrError(err)) return 'UNKNOWN';
  switch (err.code) {
    case 'CTR_ERR_NOT_A_MODEL':
    case 'CTR_ERR_LEGACY_SESSION_BUNDLE':
    case 'CTR_ERR_TAG_SET_NOT_FOUND':
    case 'CTR_ERR_MISSING_VARIABLE':
      return 'NOT_FOUND';
    case 'CTR_ERR_PROTO_DECODE':
    case 'CTR_ERR_CHECKSUM':
    case 'CTR_ERR_BUNDLE_CORRUPT':
      return 'DATA_LOSS';
    case 'CTR_ERR_UNSUPPORTED_OP':
      return 'UNIMPLEMENTED';
    default:
      return err.statusCode === 400 ? 'INVALID_ARGUMENT' : 'UNKNOWN';
  }
}

export function errorText(err: unknown): string {
  if (isCtrError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

import { CtrError, isCtrError } from '../errors/registry.ts';
import type { ServableRef } from './servable-ref.ts';

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

/** The manager's record of one version (manager.ts). */
export type VersionEntry = {
  readonly version: number;
  state: VersionState;
  errorCode: string;
  errorMessage: string;
  current?: ServableRef;
  /** Files of the servable in `current`. */
  fingerprint?: string;
  /** Files that failed to load: not retried until they change. */
  failedFingerprint?: string;
};

/** Moves `entry` to `state` (with the error that caused it, if any) and returns the event listeners get. */
export function enterState(
  model: string,
  entry: VersionEntry,
  state: VersionState,
  err?: unknown,
  loadSeconds?: number,
): VersionEvent {
  entry.state = state;
  entry.errorCode = err === undefined ? 'OK' : tfStatusCode(err);
  entry.errorMessage = err === undefined ? '' : errorText(err);
  return {
    model,
    version: entry.version,
    state,
    errorCode: entry.errorCode,
    errorMessage: entry.errorMessage,
    ...(loadSeconds === undefined ? {} : { loadSeconds }),
  };
}

/**
 * The version `acquire` serves: `version` when it is AVAILABLE (else CTR_ERR_VERSION_NOT_FOUND), or the latest
 * AVAILABLE one (else CTR_ERR_MODEL_UNAVAILABLE).
 */
export function servingEntry(
  name: string,
  versions: ReadonlyMap<number, VersionEntry>,
  version?: number,
): VersionEntry & { current: ServableRef } {
  let entry: VersionEntry | undefined;
  if (version !== undefined) {
    entry = versions.get(version);
    if (entry?.state !== 'AVAILABLE' || !entry.current) {
      throw new CtrError(
        'CTR_ERR_VERSION_NOT_FOUND',
        `model "${name}" has no available version ${version}` +
          (entry ? ` (state ${entry.state}${entry.errorMessage ? `: ${entry.errorMessage}` : ''})` : ''),
      );
    }
  } else {
    for (const e of versions.values()) {
      if (e.state === 'AVAILABLE' && e.current && (!entry || e.version > entry.version)) entry = e;
    }
    if (!entry) {
      throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `model "${name}" has no AVAILABLE version yet`);
    }
  }
  return entry as VersionEntry & { current: ServableRef };
}

/** TF Serving's GetModelStatus list: every version of a model (or one), newest first. */
export function statusList(
  name: string,
  versions: ReadonlyMap<number, VersionEntry>,
  version?: number,
): VersionStatus[] {
  const list = [...versions.values()]
    .filter((e) => version === undefined || e.version === version)
    .sort((a, b) => b.version - a.version)
    .map(({ version: v, state, errorCode, errorMessage }) => ({
      version: v,
      state,
      errorCode,
      errorMessage,
    }));
  if (version !== undefined && list.length === 0) {
    throw new CtrError('CTR_ERR_VERSION_NOT_FOUND', `model "${name}" has no version ${version}`);
  }
  return list;
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { CtrError } from '../errors/registry.ts';

/**
 * The sidecar `model.json` of a frozen graph (same directory as the .pb). It names the serving signature's
 * tensors, since a GraphDef has no SignatureDef; without it, inputs are the Placeholders and outputs the nodes
 * nothing consumes.
 * ```json
 * { "inputs": {"history": "history:0", "candidate": "candidate:0"},
 *   "outputs": {"ctr": "ctr:0", "logit": "logit:0"},
 *   "vocab_size": 20000, "oov_id": 1 }
 * ```
 * Tensor names may omit ":0". `vocab_size` / `oov_id` (optional, integers ≥ 0) are the CTR metadata of docs/api.md.
 */
export type ModelJson = {
  readonly inputs: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly vocabSize?: number;
  readonly oovId?: number;
};

export type ModelSource =
  | { readonly format: 'frozen_graph'; readonly graphPath: string; readonly modelJson?: ModelJson }
  | { readonly format: 'saved_model'; readonly dir: string; readonly savedModelPath: string };

const exists = async (p: string) => !!(await stat(p).catch(() => undefined));

/**
 * Decides what `path` holds: a .pb file is a frozen GraphDef (with model.json beside it when present); a
 * directory with saved_model.pb is a SavedModel; a directory with frozen_graph.pb or exactly one .pb a frozen
 * graph. Failures: CTR_ERR_TEXT_PROTO_UNSUPPORTED (.pbtxt), CTR_ERR_LEGACY_SESSION_BUNDLE (export.meta without
 * saved_model.pb), CTR_ERR_NOT_A_MODEL (anything else), CTR_ERR_INVALID_GRAPH (a malformed model.json).
 */
export async function detectModel(path: string): Promise<ModelSource> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new CtrError('CTR_ERR_NOT_A_MODEL', `${path} does not exist`);
  if (st.isFile()) {
    if (extname(path) === '.pbtxt') throw textProto(path);
    if (extname(path) !== '.pb') {
      throw new CtrError(
        'CTR_ERR_NOT_A_MODEL',
        `${path} is neither a .pb GraphDef nor a SavedModel directory`,
      );
    }
    if (basename(path) === 'saved_model.pb') {
      return { format: 'saved_model', dir: dirname(path), savedModelPath: path };
    }
    return frozen(path);
  }
  if (!st.isDirectory()) throw new CtrError('CTR_ERR_NOT_A_MODEL', `${path} is not a file or directory`);
  const files = await readdir(path);
  if (files.includes('saved_model.pb')) {
    return { format: 'saved_model', dir: path, savedModelPath: join(path, 'saved_model.pb') };
  }
  if (files.includes('saved_model.pbtxt')) throw textProto(join(path, 'saved_model.pbtxt'));
  if (files.includes('frozen_graph.pb')) return frozen(join(path, 'frozen_graph.pb'));
  const pbs = files.filter((f) => f.endsWith('.pb'));
  if (pbs.length === 1 && (await stat(join(path, pbs[0]))).isFile()) return frozen(join(path, pbs[0]));
  if (files.includes('export.meta') || files.some((f) => f.startsWith('export-') || f.endsWith('.meta'))) {
    throw new CtrError(
      'CTR_ERR_LEGACY_SESSION_BUNDLE',
      `${path} is a legacy SessionBundle export (export.meta, no saved_model.pb); re-export it as a SavedModel`,
    );
  }
  if (files.some((f) => f.endsWith('.pbtxt')))
    throw textProto(
      join(
        path,
        files.find((f) => f.endsWith('.pbtxt'))!,
      ),
    );
  throw new CtrError(
    'CTR_ERR_NOT_A_MODEL',
    pbs.length > 1
      ? `${path} holds ${pbs.length} .pb files and no saved_model.pb or frozen_graph.pb: name the file to load`
      : `${path} holds no saved_model.pb, frozen_graph.pb or other .pb file`,
  );
}

function textProto(path: string): CtrError {
  return new CtrError(
    'CTR_ERR_TEXT_PROTO_UNSUPPORTED',
    `${path} is a text-format protobuf; only binary .pb is supported`,
  );
}

async function frozen(graphPath: string): Promise<ModelSource> {
  const sidecar = join(dirname(graphPath), 'model.json');
  if (!(await exists(sidecar))) return { format: 'frozen_graph', graphPath };
  return {
    format: 'frozen_graph',
    graphPath,
    modelJson: parseModelJson(await readFile(sidecar, 'utf8'), sidecar),
  };
}

export function parseModelJson(text: string, source: string): ModelJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CtrError('CTR_ERR_INVALID_GRAPH', `${source} is not valid JSON`, { cause: err });
  }
  const bad = (why: string) => new CtrError('CTR_ERR_INVALID_GRAPH', `${source}: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('expected an object');
  const o = raw as Record<string, unknown>;
  const names = (key: 'inputs' | 'outputs'): Record<string, string> => {
    const v = o[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw bad(`"${key}" must map names to tensor names`);
    for (const [k, t] of Object.entries(v))
      if (typeof t !== 'string' || !t) throw bad(`"${key}.${k}" must be a tensor name`);
    if (key === 'outputs' && Object.keys(v).length === 0) throw bad('"outputs" is empty');
    return v as Record<string, string>;
  };
  const int = (key: string): number | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`"${key}" must be an integer ≥ 0`);
    return v;
  };
  const vocabSize = int('vocab_size');
  const oovId = int('oov_id');
  if (vocabSize !== undefined && oovId !== undefined && oovId >= vocabSize) {
    throw bad(`"oov_id" ${oovId} must be below "vocab_size" ${vocabSize}`);
  }
  return { inputs: names('inputs'), outputs: names('outputs'), vocabSize, oovId };
}

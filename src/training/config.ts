import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CtrError } from '../errors/registry.ts';
import { type ClickModelConfig, DEFAULT_CLICK_MODEL } from './data/click-model.ts';
import type { LossKind } from './losses.ts';
import type { StudentKind } from './model/student.ts';
import type { TeacherConfig } from './model/teacher.ts';
import type { StudentTrainConfig } from './student-training.ts';
import type { TeacherTrainConfig } from './teacher-training.ts';
import type { TransferConfig } from './transfer-set.ts';

/**
 * Everything one `ctr-serve distill` run depends on. The run is a function of this object and the seed: the
 * same config and seed give the same data, weights and metrics. `--config F` (JSON or YAML) overrides any subset
 * of the defaults (objects merge, arrays and scalars replace); `--quick` starts from QUICK_CONFIG instead, a
 * seconds-long run for tests. docs/training.md describes each field.
 */
export type StudentVariant = {
  /** Row name in the report ("pooled/hinton"). */
  readonly name: string;
  readonly kind: StudentKind;
  readonly loss: LossKind;
};

export type DistillConfig = {
  readonly seed: number;
  readonly data: {
    /** A CSV click log to use instead of the synthetic one (docs/training.md: columns); same as file + format csv. */
    readonly csv?: string;
    /** A data file (`--data`) read as `format` (`--format`): a CSV click log or click sequences. */
    readonly file?: string;
    readonly format?: 'csv' | 'sequences';
    /** Click sequences (docs/training.md, "Real click sequences"): the leave-last-out protocol's settings. */
    readonly sequences: {
      /** Read only the file's first maxUsers users (0: all). */
      readonly maxUsers: number;
      /** Negatives ranked against each validation and test target (100 in BERT4Rec's protocol). */
      readonly negatives: number;
      /** Popularity-sampled non-clicks per training click. */
      readonly trainNegatives: number;
      /** Validation and test users expanded into CTR rows for AUC, log-loss, latency and the export check. */
      readonly rowUsers: number;
    };
    readonly clickModel: ClickModelConfig;
    readonly trainRows: number;
    readonly validRows: number;
    readonly testRows: number;
    /** Unlabelled click sequences for pretraining (synthetic data only). */
    readonly pretrainSequences: number;
  };
  /** The teacher's shape and switches (model/teacher.ts, TeacherConfig, documents each) and its training. */
  readonly teacher: Omit<TeacherConfig, 'vocabSize' | 'historyLength'> & {
    readonly train: TeacherTrainConfig;
  };
  readonly student: {
    readonly dim: number;
    readonly hidden: readonly number[];
    readonly variants: readonly StudentVariant[];
    readonly train: StudentTrainConfig;
    /** Loss weights: α and T per loss. */
    readonly hinton: { readonly alpha: number; readonly temperature: number };
    readonly tang: { readonly alpha: number };
    /** Steps for the slower recurrent variants, gru and bilstm (they train on the same sets). */
    readonly gruSteps: number;
    /** Distilled students start from the teacher's item embeddings (needs student.dim = teacher.dim), and from
     * its transition tables when both have `transitions`. */
    readonly initFromTeacher?: boolean;
    /** Pooled students also see the newest history item: [last, last⊙c] (model/student.ts, StudentConfig). */
    readonly lastItem?: boolean;
    /** Pooled students add FPMC's from(last)·to(c) (model/student.ts, StudentConfig.transitions). */
    readonly transitions?: boolean;
  };
  readonly transfer: TransferConfig;
  readonly evaluation: { readonly latencyBatch: number; readonly latencyRepeats: number };
  readonly export: { readonly version: number; readonly oovId: number };
};

export const DEFAULT_CONFIG: DistillConfig = {
  seed: 1,
  data: {
    clickModel: { ...DEFAULT_CLICK_MODEL },
    trainRows: 300000,
    validRows: 5000,
    testRows: 20000,
    pretrainSequences: 80000,
    sequences: { maxUsers: 0, negatives: 100, trainNegatives: 2, rowUsers: 2000 },
  },
  teacher: {
    dim: 32,
    heads: 2,
    layers: 1,
    ffnDim: 64,
    headDim: 16,
    nextResidual: true,
    fanInInit: true,
    transitions: true, // the transition recipe (docs/training.md, "The transition term")
    candidateBias: false,
    train: {
      batchSize: 256,
      pretrainSteps: 300,
      pretrainLearningRate: 5e-3,
      maskProb: 0.15,
      finetuneSteps: 1000,
      headLearningRate: 2e-2,
      encoderLrRatio: 0.2,
      transitionLrScale: 5,
      sampledNegatives: 1024,
      cooccurrenceInit: true,
      subtractLogQ: true,
    },
  },
  student: {
    dim: 32,
    hidden: [64, 32],
    variants: [
      { name: 'pooled/none', kind: 'pooled', loss: 'none' },
      { name: 'pooled/hinton', kind: 'pooled', loss: 'hinton' },
      { name: 'pooled/tang', kind: 'pooled', loss: 'tang' },
      { name: 'gru/tang', kind: 'gru', loss: 'tang' },
    ],
    train: { batchSize: 512, steps: 600, learningRate: 5e-3, loss: { alpha: 1, temperature: 1 } },
    hinton: { alpha: 1, temperature: 2 },
    tang: { alpha: 1 },
    gruSteps: 100,
    initFromTeacher: true,
    lastItem: true,
    transitions: true,
  },
  transfer: { copies: 1, maskProb: 0.2, spanMax: 4, unlabelledRows: 40000 },
  evaluation: { latencyBatch: 1000, latencyRepeats: 15 },
  export: { version: 1, oovId: 0 },
};

export const QUICK_CONFIG: DistillConfig = merge(DEFAULT_CONFIG, {
  data: {
    clickModel: { vocabSize: 60, historyLength: 6, users: 200, topics: 4 },
    trainRows: 1500,
    validRows: 400,
    testRows: 800,
    pretrainSequences: 800,
  },
  teacher: {
    dim: 8,
    ffnDim: 16,
    headDim: 8,
    train: {
      batchSize: 64,
      pretrainSteps: 30,
      finetuneSteps: 30,
      pretrainLearningRate: 1e-2,
      headLearningRate: 1e-2,
      sampledNegatives: 0,
    },
  },
  student: {
    dim: 8,
    hidden: [8],
    variants: [...DEFAULT_CONFIG.student.variants, { name: 'bilstm/tang', kind: 'bilstm', loss: 'tang' }],
    train: { batchSize: 64, steps: 40, learningRate: 1e-2 },
    gruSteps: 8,
  },
  transfer: { copies: 1, unlabelledRows: 400 },
  evaluation: { latencyBatch: 200, latencyRepeats: 2 },
}) as DistillConfig;
// The synthetic recipe's transition switches stay off for click sequences (their recipe and table predate them).
const NO_TRANSITIONS = {
  teacher: { transitions: false, candidateBias: true, train: { encoderLrRatio: 0.01 } },
  student: { lastItem: false, transitions: false },
};
/** What `--format sequences` changes (docs/training.md, "Real click sequences": the recipe), merged over
 * DEFAULT_CONFIG (or QUICK_CONFIG with `--quick`: a slice of the file); the defaults' switches, no subtractLogQ. */
const SEQUENCE_OVERRIDES = {
  data: { clickModel: { historyLength: 12 }, sequences: { trainNegatives: 4 } },
  teacher: {
    dim: 64,
    heads: 2,
    layers: 1,
    ffnDim: 128,
    headDim: 32,
    train: {
      batchSize: 256,
      pretrainSteps: 300,
      pretrainLearningRate: 2e-3,
      maskProb: 0.4,
      finetuneSteps: 1500,
      headLearningRate: 5e-3,
      encoderLrRatio: 0.2,
      sampledNegatives: 256,
      inBatchNegatives: false,
      subtractLogQ: false,
    },
  },
  student: {
    dim: 64,
    hidden: [64],
    variants: DEFAULT_CONFIG.student.variants.filter((v) => v.kind === 'pooled'),
    train: { batchSize: 512, steps: 300, learningRate: 2e-3 },
  },
  transfer: { copies: 0, unlabelledRows: 20000 },
};

const QUICK_SEQUENCE_OVERRIDES = {
  data: { clickModel: { historyLength: 8 }, sequences: { maxUsers: 400, rowUsers: 100 } },
  teacher: { train: { sampledNegatives: 64, inBatchNegatives: false, subtractLogQ: false } },
  student: {
    variants: DEFAULT_CONFIG.student.variants.filter((v) => v.kind === 'pooled'),
  },
  transfer: { unlabelledRows: 200 },
};

/** The base config of a run: DEFAULT_CONFIG or QUICK_CONFIG, with the sequence overrides for click sequences. */
export function baseConfig(quick: boolean, format: 'csv' | 'sequences' | undefined): DistillConfig {
  const base = quick ? QUICK_CONFIG : DEFAULT_CONFIG;
  if (format !== 'sequences') return base;
  return merge(merge(base, NO_TRANSITIONS), quick ? QUICK_SEQUENCE_OVERRIDES : SEQUENCE_OVERRIDES);
}
type Json = unknown;

/** Deep merge of plain objects; arrays and scalars in `over` replace. */
export function merge<T>(base: T, over: Json): T {
  if (over === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over as T;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out as T;
}

/** `--config F` of `data` and `distill`: F (relative to cwd) overrides `base`; no file, `base` as it is. */
export async function readDistillConfigFile(
  file: string | undefined,
  cwd: string,
  base: DistillConfig,
): Promise<DistillConfig> {
  if (file === undefined) return base;
  const path = resolve(cwd, file);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new CtrError('CTR_ERR_TRAINING_CONFIG', `cannot read ${path}`, { cause: err });
  });
  return loadDistillConfig(text, path, base);
}

export function loadDistillConfig(text: string, source: string, base: DistillConfig): DistillConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CtrError('CTR_ERR_TRAINING_CONFIG', `${source} is neither JSON nor YAML`, { cause: err });
  }
  if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new CtrError('CTR_ERR_TRAINING_CONFIG', `${source}: expected an object of settings`);
  }
  // A distill report (report.json) carries the config it was made with: use that one (models/README.md).
  if (isReport(raw)) raw = raw.config;
  return validateConfig(merge(base, raw ?? {}), source);
}

function isReport(raw: unknown): raw is { config: object } {
  const r = raw as { config?: unknown; models?: unknown } | null;
  return typeof r?.config === 'object' && r.config !== null && Array.isArray(r.models);
}

export function validateConfig(c: DistillConfig, source: string): DistillConfig {
  const bad = (why: string) => new CtrError('CTR_ERR_TRAINING_CONFIG', `${source}: ${why}`);
  const posInt = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw bad(`${name} must be a positive integer`);
  };
  posInt(c.data.trainRows, 'data.trainRows');
  posInt(c.data.testRows, 'data.testRows');
  posInt(c.data.clickModel.vocabSize, 'data.clickModel.vocabSize');
  posInt(c.data.clickModel.historyLength, 'data.clickModel.historyLength');
  posInt(c.teacher.dim, 'teacher.dim');
  posInt(c.teacher.heads, 'teacher.heads');
  if (c.teacher.dim % c.teacher.heads !== 0) throw bad('teacher.dim must be a multiple of teacher.heads');
  posInt(c.student.dim, 'student.dim');
  posInt(c.export.version, 'export.version');
  if (!Number.isInteger(c.seed) || c.seed < 0) throw bad('seed must be an integer ≥ 0');
  const kinds = ['pooled', 'gru', 'bilstm'];
  const losses = ['none', 'hinton', 'tang'];
  if (!c.student.variants.length) throw bad('student.variants is empty');
  for (const v of c.student.variants) {
    if (!kinds.includes(v.kind) || !losses.includes(v.loss)) {
      throw bad(`student variant ${JSON.stringify(v)}: kind is pooled|gru|bilstm, loss is none|hinton|tang`);
    }
  }
  if (c.student.variants.some((v) => v.kind === 'bilstm') && c.student.dim % 2 !== 0) {
    throw bad('student.dim must be even for a bilstm variant (dim/2 units per direction)');
  }
  if (c.student.initFromTeacher && c.student.dim !== c.teacher.dim) {
    throw bad('student.initFromTeacher needs student.dim equal to teacher.dim');
  }
  if (!c.student.variants.some((v) => v.kind === 'pooled' && v.loss === 'none')) {
    throw bad('student.variants needs the baseline {kind: pooled, loss: none}');
  }
  if (c.export.oovId < 0 || c.export.oovId >= c.data.clickModel.vocabSize)
    throw bad('export.oovId out of range');
  return c;
}

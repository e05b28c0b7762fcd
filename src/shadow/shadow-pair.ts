import type { ServableId } from '../serving/servable.ts';
import {
  AgreementTracker,
  agreementReport,
  type AgreementReport,
  type AgreementSnapshot,
} from './agreement.ts';

/**
 * One (student, teacher) pair as the shadow scorer tracks it in one process: request counts by outcome and the
 * agreement of the versions currently served. When either side changes version the agreement starts afresh (the
 * counts go on), so `cumulative` always describes the versions it names.
 *
 * `ShadowPairSnapshot` is plain data: workers send it to the primary, and `shadowPairsJson` merges any number of
 * them into the `GET /v1/shadow` body of docs/shadow.md (counts summed, agreement merged for the newest versions).
 */
export type ShadowCounts = {
  sampled: number;
  scored: number;
  dropped: number;
  errors: number;
  timeouts: number;
};

export type ShadowPairSnapshot = {
  readonly student: string;
  readonly teacher: string;
  readonly sampleRate: number;
  readonly studentVersion: number | null;
  readonly teacherVersion: number | null;
  readonly counts: ShadowCounts;
  readonly agreement: AgreementSnapshot;
};

export class ShadowPair {
  readonly student: string;
  readonly teacher: string;
  readonly sampleRate: number;
  readonly counts: ShadowCounts = { sampled: 0, scored: 0, dropped: 0, errors: 0, timeouts: 0 };
  #studentVersion: number | null = null;
  #teacherVersion: number | null = null;
  #tracker: AgreementTracker;
  readonly #opts: { windowSize: number; topK?: number };
  /** Bumped on every record, so cached window statistics know when they are stale. */
  generation = 0;

  constructor(
    student: string,
    teacher: string,
    sampleRate: number,
    opts: { windowSize: number; topK?: number },
  ) {
    this.student = student;
    this.teacher = teacher;
    this.sampleRate = sampleRate;
    this.#opts = opts;
    this.#tracker = new AgreementTracker(opts);
  }

  record(
    studentId: ServableId,
    teacherId: ServableId,
    student: ArrayLike<number>,
    teacher: ArrayLike<number>,
    offsets: ArrayLike<number>,
  ): void {
    if (studentId.version !== this.#studentVersion || teacherId.version !== this.#teacherVersion) {
      this.#studentVersion = studentId.version;
      this.#teacherVersion = teacherId.version;
      this.#tracker = new AgreementTracker(this.#opts);
    }
    this.#tracker.record(student, teacher, offsets);
    this.generation++;
  }

  snapshot(): ShadowPairSnapshot {
    return {
      student: this.student,
      teacher: this.teacher,
      sampleRate: this.sampleRate,
      studentVersion: this.#studentVersion,
      teacherVersion: this.#teacherVersion,
      counts: { ...this.counts },
      agreement: this.#tracker.snapshot(),
    };
  }
}

type Named = { readonly name: string; readonly version: string | null };

export type ShadowPairJson = {
  readonly student: Named;
  readonly teacher: Named;
  readonly sample_rate: number;
  readonly requests: ShadowCounts;
} & AgreementReport;

export type ShadowJson = { readonly pairs: ShadowPairJson[] };

/** Merges one or more workers' pair snapshots into the JSON of docs/shadow.md (one entry per student/teacher pair). */
export function shadowPairsJson(workers: readonly (readonly ShadowPairSnapshot[])[]): ShadowJson {
  const byPair = new Map<string, ShadowPairSnapshot[]>();
  for (const pairs of workers) {
    for (const p of pairs) {
      const key = JSON.stringify([p.student, p.teacher]);
      byPair.set(key, [...(byPair.get(key) ?? []), p]);
    }
  }
  const pairs: ShadowPairJson[] = [];
  for (const group of byPair.values()) {
    const counts: ShadowCounts = { sampled: 0, scored: 0, dropped: 0, errors: 0, timeouts: 0 };
    for (const p of group)
      for (const k of Object.keys(counts) as (keyof ShadowCounts)[]) counts[k] += p.counts[k];
    // Mid-reload, workers may serve different versions: report the newest pair of versions any worker scored.
    const newest = group.reduce<ShadowPairSnapshot | undefined>(
      (best, p) => (p.studentVersion === null ? best : !best || newer(p, best) ? p : best),
      undefined,
    );
    const same = newest
      ? group.filter(
          (p) => p.studentVersion === newest.studentVersion && p.teacherVersion === newest.teacherVersion,
        )
      : [];
    const first = group[0];
    pairs.push({
      student: { name: first.student, version: version(newest?.studentVersion) },
      teacher: { name: first.teacher, version: version(newest?.teacherVersion) },
      sample_rate: first.sampleRate,
      requests: counts,
      ...agreementReport((same.length > 0 ? same : [first]).map((p) => p.agreement)),
    });
  }
  return { pairs };
}

const newer = (a: ShadowPairSnapshot, b: ShadowPairSnapshot): boolean =>
  (a.studentVersion ?? -1) > (b.studentVersion ?? -1) ||
  (a.studentVersion === b.studentVersion && (a.teacherVersion ?? -1) > (b.teacherVersion ?? -1));

/** Versions are strings in JSON, as TF Serving prints them. */
const version = (v: number | null | undefined): string | null =>
  v === null || v === undefined ? null : String(v);

/**
 * Published numbers on the same protocol, printed beside ours (docs/training.md, "Real click sequences"). Each row
 * names its source; a metric the source does not give is absent.
 */
export type PublishedRow = {
  readonly name: string;
  readonly hr1?: number;
  readonly hr5?: number;
  readonly hr10?: number;
  readonly ndcg5?: number;
  readonly ndcg10?: number;
  readonly mrr?: number;
};

export const PUBLISHED_BEAUTY: { readonly source: string; readonly rows: readonly PublishedRow[] } = {
  source: 'Sun et al., BERT4Rec (CIKM 2019), Table 2, Beauty',
  rows: [],
};

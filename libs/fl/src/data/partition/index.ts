import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import type { BalancedDirichletOptions } from './balanced-dirichlet.js';
import { balancedDirichletPartition } from './balanced-dirichlet.js';
import type { DirichletOptions } from './dirichlet.js';
import { dirichletPartition } from './dirichlet.js';
import type { IidOptions } from './iid.js';
import { iidPartition } from './iid.js';
import type { ShardOptions } from './shards.js';
import { shardPartition } from './shards.js';

export * from './common.js';
export * from './dirichlet.js';
export * from './shards.js';
export * from './iid.js';
export * from './balanced-dirichlet.js';
export * from './indices.js';
export * from './label-counts.js';
export * from './dataset-test-split.js';

export type PartitionSpec =
  | ({ readonly kind: 'dirichlet' } & DirichletOptions)
  | ({ readonly kind: 'shards' } & ShardOptions)
  | ({ readonly kind: 'iid' } & IidOptions)
  | ({ readonly kind: 'balanced-dirichlet' } & BalancedDirichletOptions);

/** One entry point for every partitioner that draws its own split, keyed by `kind`. */
export function makePartition(labels: Uint8Array, numClasses: number, spec: PartitionSpec): Partition {
  switch (spec.kind) {
    case 'dirichlet':
      return dirichletPartition(labels, numClasses, spec);
    case 'shards':
      return shardPartition(labels, numClasses, spec);
    case 'iid':
      return iidPartition(labels, numClasses, spec);
    case 'balanced-dirichlet':
      return balancedDirichletPartition(labels, numClasses, spec);
    default: {
      const kind: unknown = (spec as { kind: unknown }).kind;
      throw new PartitionError(`unknown partition kind '${String(kind)}'; use dirichlet, shards, iid or balanced-dirichlet`);
    }
  }
}

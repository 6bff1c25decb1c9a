// Writes a label-counts file in PFLlib's config.json layout from a seeded Dirichlet draw of
// fedsim's own partitioner, for the worked example in docs/reproduce.md:
//
//   node --conditions=fedsim-source --import tsx scripts/make-label-counts.ts \
//     --clients 20 --alpha 0.1 --seed 1 --out configs/partitions/fmnist-dir0.1-20clients.pfllib.json
//
// The draw uses the capAtMean variant (a client already holding N/clients samples gets no more of
// later labels), the same scheme PFLlib's "dir" partition uses; counts cover train + test, as
// PFLlib's do, so the file reads like one of its dataset/<name>/config.json files.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirichletPartition, labelHistograms } from '@fedsim/fl/data';
import { formatSplitFile, loadDataset, pfllibCountsFile, PFLLIB_COUNTS_KEY } from '@fedsim/runtime/data';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    alpha: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    'min-samples': { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
const numClients = Number(values.clients);
const alpha = Number(values.alpha);
const seed = Number(values.seed);
const minSamples = Number(values['min-samples']);

const dataset = await loadDataset({ kind: 'fashion-mnist' });
const partition = dirichletPartition(dataset.labels, dataset.numClasses, { numClients, alpha, seed, minSamples, capAtMean: true, testRatio: 0 });
const totals = labelHistograms(partition, dataset.labels, dataset.numClasses).map((h) => h.train.map((n, c) => n + h.test[c]!));
const file = {
  ...pfllibCountsFile(totals, dataset.numClasses),
  non_iid: true,
  balance: false,
  partition: 'dir',
  alpha,
  generated_by: `fedsim scripts/make-label-counts.ts --clients ${numClients} --alpha ${alpha} --seed ${seed} --min-samples ${minSamples} (Fashion-MNIST, 70000 pooled samples)`,
};
const text = formatSplitFile(file, PFLLIB_COUNTS_KEY);
if (values.out) {
  writeFileSync(values.out, text);
  const sizes = totals.map((t) => t.reduce((a, b) => a + b, 0));
  console.error(`wrote ${values.out}: ${numClients} clients, ${Math.min(...sizes)}..${Math.max(...sizes)} samples each`);
} else process.stdout.write(text);

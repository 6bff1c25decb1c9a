import type { Command } from 'commander';
import { z } from 'zod';
import { collect, parseOptions } from './cli-options.js';
import { loadExperimentFile } from './config-file.js';

/** `fedsim validate`: a config with every default filled in. */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config and print it with every default filled in')
    .argument('<config>', 'experiment config (YAML)')
    .option('--set <path=value>', 'override a config field (repeatable)', collect, [])
    .action(async (config: string, raw: unknown) => {
      const o = parseOptions(z.object({ set: z.array(z.string()) }), raw, 'validate');
      console.log(JSON.stringify(await loadExperimentFile(config, o.set), null, 2));
    });
}

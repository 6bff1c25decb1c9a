#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerCompareCommand } from './compare/compare-command.js';
import { registerGcCommand } from './gc-command.js';
import { parseCoordinatorEnv } from './env.js';
import { exitWithError } from './exit-codes.js';
import { registerRunCommand } from './run-command.js';
import { registerValidateCommand } from './validate-command.js';
import { registerPartitionCommands } from './partition-command.js';
import { registerSweepCommands } from './sweep/commands.js';
import { registerServeCommands } from './serve/commands.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

// Exit codes (exit-codes.ts): 0 done, 1 failed run, 2 bad input, 128+n ended by signal n.
async function main(): Promise<void> {
  const env = parseCoordinatorEnv(process.env);
  const program = new Command()
    .name('fedsim')
    .description('Personalized federated-learning simulations: embedded on one machine, or on Redis + S3 workers')
    .version(version)
    .exitOverride();

  registerRunCommand(program, env);
  registerCompareCommand(program, env);
  registerValidateCommand(program);
  registerPartitionCommands(program, env);
  registerSweepCommands(program, env);
  registerServeCommands(program, env);
  registerGcCommand(program, env);

  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => exitWithError(err, Boolean(process.env['FEDSIM_DEBUG'])));

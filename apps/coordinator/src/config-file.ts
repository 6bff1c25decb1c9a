import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ExperimentConfig } from '@fedsim/runtime';
import { ConfigError, parseExperiment } from '@fedsim/runtime';

/** `a.b.c=value` overrides from the command line; values are parsed as YAML scalars/flows. */
export function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  const root = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects path=value (e.g. rounds=3), got '${o}'`);
    const path = o.slice(0, eq).split('.');
    const value: unknown = parseYaml(o.slice(eq + 1));
    let node = root;
    for (const part of path.slice(0, -1)) {
      const child = node[part];
      if (child === undefined) node[part] = {};
      else if (typeof child !== 'object' || child === null) throw new ConfigError(`--set ${o}: '${part}' is not an object`);
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return root;
}

export async function loadExperimentFile(path: string, overrides: readonly string[] = []): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file '${path}' is not valid YAML: ${(err as Error).message}`);
  }
  return parseExperiment(applyOverrides(raw, overrides), `config ${path}`);
}

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { deviceTraceSchema } from '@fedsim/fl/system';
import type { DeviceTrace } from '@fedsim/fl/system';
import { formatIssues } from '@fedsim/fl/util';
import { ConfigError } from '../errors/run.js';

/** Reads a device trace (system.devices.file; relative paths resolve against the working directory). */
export async function readDeviceTrace(file: string): Promise<DeviceTrace> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`system.devices.file: cannot read the device trace ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`system.devices.file: ${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = deviceTraceSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`system.devices.file: invalid device trace ${path}:\n${formatIssues(parsed.error, { style: 'list' })}`);
  }
  return parsed.data;
}

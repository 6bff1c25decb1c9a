/** `--name value` from argv, or undefined. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`argument ${name} needs a value`);
  return v;
}

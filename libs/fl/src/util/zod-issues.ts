import type { z } from 'zod';

/**
 * The one way fedsim words a validation failure: every issue as `path: message`, the path
 * prefixed with where the value sits (e.g. `data` for a config's data section). `inline` joins
 * them with '; ' for one-line errors; `list` puts each on its own `  - ` line for config files.
 * (zod's prettifyError cannot prefix paths, and its two-line layout breaks one-line errors.)
 */
export function formatIssues(
  error: z.ZodError,
  opts: { readonly prefix?: readonly PropertyKey[]; readonly style?: 'inline' | 'list' } = {},
): string {
  const lines = error.issues.map((i) => {
    const path = [...(opts.prefix ?? []), ...i.path].map(String).join('.');
    return `${path || '(root)'}: ${i.message}`;
  });
  return opts.style === 'list' ? lines.map((l) => `  - ${l}`).join('\n') : lines.join('; ');
}

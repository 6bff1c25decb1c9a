import { z } from 'zod';
import { BACKEND_PREFERENCE } from '@fedsim/fl/compute';

/** `auto` (first that loads, in preference order) or one named compute backend. */
export const backendChoiceSchema = z.enum(['auto', ...BACKEND_PREFERENCE]);
export type BackendChoice = z.infer<typeof backendChoiceSchema>;

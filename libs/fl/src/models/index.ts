export type { ModelDef, ModelName } from './types.js';
export { createModel } from './create.js';
export { modelNames, modelNameSchema, modelOptionsSchema, type ModelOptions } from './names.js';
export { initUniformFanIn } from './init.js';

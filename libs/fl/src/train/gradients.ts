import { registerTfjsGradients } from '../compute/tfjs-gradients.js';

/**
 * Import this module for its side effect wherever a gradient is taken: tfjs's gradient functions
 * registered (compute/tfjs-gradients.ts says how and why not through the umbrella package).
 */
registerTfjsGradients();

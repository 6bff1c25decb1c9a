import { onNativeBackend } from './native-backend.js';
import { denseSuite, determinismSuite, fusedLayerSuite, layerStackSuite, modelSuite, poolSuite, sgdStepSuite } from './suites.js';

/** The OpenBLAS addon's kernels (backend 'wasm-blas') against the reference cpu backend. */
onNativeBackend(() => {
  poolSuite('wasm-blas', [7]);
  denseSuite('wasm-blas', [1, 7, 32]);
  modelSuite('wasm-blas', [['mlp', 32], ['mlp', 7], ['fedavgcnn', 7], ['fedavgcnn', 1], ['logreg', 7]]);
  determinismSuite('wasm-blas');
  sgdStepSuite('wasm-blas');
  fusedLayerSuite('wasm-blas', [1, 7, 32]);
  layerStackSuite('wasm-blas');
});

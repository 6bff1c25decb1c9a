import { onNativeBackend } from './native-backend.js';
import { convSuite } from './suites.js';

/** The OpenBLAS addon's Conv2D and backprop kernels (backend 'wasm-blas') against the reference cpu backend. */
onNativeBackend(() => convSuite('wasm-blas', [1, 7, 32]));

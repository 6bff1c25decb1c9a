/**
 * tfjs-core defines its gradients but registers them only in its ESM sources, whose extensionless
 * imports Node cannot load; the union package's Node bundle registers every gradient on the same
 * (shared, global) tfjs-core engine when it loads. Import this module for that side effect
 * wherever a gradient is taken. Loading it costs a few hundred milliseconds once per process
 * or worker thread; it also registers the cpu backend, so callers still pick a backend
 * explicitly (compute's initCompute, or tf.setBackend in tests).
 */
import '@tensorflow/tfjs';

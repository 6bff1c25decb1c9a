import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** Tests run on the reference CPU backend (set explicitly: other registered backends rank higher). */
export async function useCpuBackend(): Promise<void> {
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('could not activate the tfjs cpu backend');
  await tf.ready();
}

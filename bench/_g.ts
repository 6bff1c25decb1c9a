const m = () => { const u = process.memoryUsage(); return `rss ${(u.rss/2**20).toFixed(0)} heap ${(u.heapUsed/2**20).toFixed(0)}`; };
const tf = await import('@tensorflow/tfjs-core');
console.log('core', m(), !!tf.getGradient('Conv2D'));
if (process.argv[2] === 'umbrella') await import('@tensorflow/tfjs');
else await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
console.log(process.argv[2], m(), !!tf.getGradient('Conv2D'), !!tf.getGradient('RealDiv'));
const a = tf.variable(tf.tensor([1, 2, 3]));
const g = tf.grad((x: any) => tf.sum(tf.mul(tf.div(x, tf.scalar(2)), x)))(a);
console.log(g.dataSync());

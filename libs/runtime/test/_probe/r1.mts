import { startRedis } from '../../../../test/harness/redis.ts';
const t = Date.now();
const r = await startRedis();
console.log(r.url, r.prefix, Date.now() - t);
await r.stop();
console.log('stopped', Date.now() - t);

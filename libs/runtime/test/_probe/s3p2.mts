import S3rver from 's3rver';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp } from 'node:fs/promises';
const dir = await mkdtemp('/tmp/s3rv-');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: false, directory: dir, configureBuckets: [{ name: 'bkt' }] });
const { port } = await server.run();
const client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 });
for (const k of ['x/a/b', 'x/k0', 'y0', 'x/k1']) {
  try { await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: k, Body: new Uint8Array([1]) })); console.log('ok', k); } catch (e) { console.log('fail', k, (e as Error).message); }
}
server.httpServer?.closeAllConnections();
await server.close();

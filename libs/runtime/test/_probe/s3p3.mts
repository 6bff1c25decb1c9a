import S3rver from 's3rver';
import { S3Client, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtemp } from 'node:fs/promises';
const dir = await mkdtemp('/tmp/s3rv-');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: false, directory: dir, configureBuckets: [{ name: 'bkt' }] });
const { port } = await server.run();
const client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 });
for (const k of ['x/a/b', 'x/k0', 'x/k1', 'x/k2', 'x/k3']) await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: k, Body: new Uint8Array([1]) }));
for (const input of [{ Prefix: 'x/' }, { Prefix: 'x/', MaxKeys: 2 }]) {
  try { const r = await client.send(new ListObjectsV2Command({ Bucket: 'bkt', ...input })); console.log('ok', input, r.Contents?.map(c=>c.Key), r.IsTruncated, r.NextContinuationToken, r.KeyCount); 
    if (r.NextContinuationToken) { const r2 = await client.send(new ListObjectsV2Command({ Bucket: 'bkt', ...input, ContinuationToken: r.NextContinuationToken })); console.log('page2', r2.Contents?.map(c=>c.Key), r2.IsTruncated); }
  } catch (e) { console.log('fail', input, (e as Error).message); }
}
server.httpServer?.closeAllConnections();
await server.close();

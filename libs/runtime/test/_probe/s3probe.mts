import { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command, HeadBucketCommand, HeadObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { startS3 } from '/work/main/test/harness/s3.ts';
const s3 = await startS3();
console.log(s3.endpoint);
for (const mode of ['default', 'when_required'] as const) {
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials,
    ...(mode === 'when_required' ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}) });
  try {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${mode}/a/b`, Body: new Uint8Array([1,2,3,0,255]) }));
    const g = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${mode}/a/b` }));
    console.log(mode, 'get', await g.Body!.transformToByteArray());
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${mode}/k${i}`, Body: new Uint8Array([i]) }));
    const l = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${mode}/`, MaxKeys: 2 }));
    console.log(mode, 'list', l.Contents?.map(c => c.Key), l.IsTruncated, l.NextContinuationToken);
    const l2 = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${mode}/`, MaxKeys: 2, ContinuationToken: l.NextContinuationToken }));
    console.log(mode, 'list2', l2.Contents?.map(c => c.Key), l2.IsTruncated);
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
    try { await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'nope' })); } catch (e) { const x = e as any; console.log('headobj missing', x.name, x.$metadata?.httpStatusCode); }
    try { await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'nope' })); } catch (e) { const x = e as any; console.log('get missing', x.name, x.Code, x.$metadata?.httpStatusCode); }
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'nope' }));
    try { await client.send(new HeadBucketCommand({ Bucket: 'nobucket' })); } catch (e) { const x = e as any; console.log('headbucket missing', x.name, x.$metadata?.httpStatusCode); }
  } catch (e) { console.log(mode, 'ERR', e); }
}
const bad = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
try { await bad.send(new HeadBucketCommand({ Bucket: s3.bucket })); } catch (e) { const x = e as any; console.log('bad creds', x.name, x.$metadata?.httpStatusCode, x.message); }
const down = new S3Client({ endpoint: 'http://127.0.0.1:1', region: s3.region, forcePathStyle: true, credentials: s3.credentials, maxAttempts: 1, requestHandler: { connectionTimeout: 2000, requestTimeout: 3000 } });
const t0 = Date.now();
try { await down.send(new HeadBucketCommand({ Bucket: s3.bucket })); } catch (e) { const x = e as any; console.log('down', x.name, x.code, x.message, Date.now() - t0); }
const blackhole = new S3Client({ endpoint: 'http://10.255.255.1:9000', region: s3.region, forcePathStyle: true, credentials: s3.credentials, maxAttempts: 1, requestHandler: { connectionTimeout: 2000, requestTimeout: 3000 } });
const t1 = Date.now();
try { await blackhole.send(new HeadBucketCommand({ Bucket: s3.bucket })); } catch (e) { const x = e as any; console.log('blackhole', x.name, x.code, x.message, Date.now() - t1); }
await s3.stop();
console.log('stopped');

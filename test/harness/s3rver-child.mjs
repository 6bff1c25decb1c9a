// Runs s3rver in its own process, started by s3.ts with --openssl-legacy-provider: s3rver builds
// ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through the legacy
// provider. Prints one JSON line {"port": n} once listening; exits when stdin closes (the parent
// died or stopped it) or on SIGTERM.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  console.error('usage: s3rver-child.mjs <directory> <bucket>');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  server.httpServer?.closeAllConnections();
  await server.close().catch(() => undefined);
  process.exit(0);
}
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

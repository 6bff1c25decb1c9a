import { InvalidBlobKeyError } from '../../errors/store.js';

/**
 * One key grammar for every blob store, so a key that works against a local directory also works
 * against S3 and cannot escape the store's root: '/'-separated, non-empty segments, no '.' or
 * '..' segments, no leading '/', no backslashes or control characters.
 */
const MAX_KEY_LENGTH = 1024;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\]/;

export { InvalidBlobKeyError };

export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidBlobKeyError(String(key), 'empty');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidBlobKeyError(key.slice(0, 64) + '…', `longer than ${MAX_KEY_LENGTH} characters`);
  if (FORBIDDEN_CHARS.test(key)) throw new InvalidBlobKeyError(key, 'contains a backslash or control character');
  if (key.startsWith('/')) throw new InvalidBlobKeyError(key, "absolute (starts with '/')");
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidBlobKeyError(key, "empty path segment ('//' or trailing '/')");
    if (segment === '.' || segment === '..') throw new InvalidBlobKeyError(key, `'${segment}' segment`);
  }
}

/** A list prefix is any leading part of a key: '' lists everything, 'runs/a/' one folder. */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidBlobKeyError(String(prefix), 'prefix must be a string');
  if (prefix === '') return;
  if (FORBIDDEN_CHARS.test(prefix)) throw new InvalidBlobKeyError(prefix, 'contains a backslash or control character');
  if (prefix.startsWith('/')) throw new InvalidBlobKeyError(prefix, "absolute (starts with '/')");
  const segments = prefix.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '' && !last) throw new InvalidBlobKeyError(prefix, "empty path segment ('//')");
    if (!last && (segment === '.' || segment === '..')) throw new InvalidBlobKeyError(prefix, `'${segment}' segment`);
  });
}

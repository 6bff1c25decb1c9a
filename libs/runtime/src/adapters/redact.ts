/**
 * The one place secrets are masked before text reaches a log line, an error or a metric label.
 * Applies to any text, so a URL quoted inside an SDK's error message is caught too.
 */

const MASK = '***';

/** Query parameters that carry credentials (presigned S3 URLs, API tokens, passwords). */
const SECRET_PARAM = /([?&](?:[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|signature|credential|api[-_]?key|access[-_]?key|auth)[\w.-]*)=)[^&#\s'"]*/gi;

/** `scheme://user:pw@` or `scheme://token@` (redis, rediss, http, https, ...); greedy, for an unescaped '@' in a password. */
const SCHEME_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)([^/\s'"]*)@/gi;

/**
 * `user:pw@host` or `:pw@host` without a scheme, as in `REDIS_URL=:secret@redis:6379`, at the start
 * of the text or after a space, quote, `=` or `(`. Needs the colon, so e-mail addresses stay.
 */
const BARE_USERINFO = /(^|[\s'"=(,])([^\s'"/@:=(,]*:[^\s'"/]*)@(?=[\w.[\]-])/g;

/**
 * `user:pw` keeps the user name (Redis ACL users and S3 access users are names, and knowing
 * which one was used helps); a lone `token` before '@' is all secret.
 */
function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`;
}

/** `text` with every credential in a URL form replaced by '***'. */
export function maskSecrets(text: string): string {
  return text
    .replace(SCHEME_USERINFO, (_m, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo)}@`)
    .replace(BARE_USERINFO, (_m, before: string, userinfo: string) => `${before}${maskUserinfo(userinfo)}@`)
    .replace(SECRET_PARAM, `$1${MASK}`);
}

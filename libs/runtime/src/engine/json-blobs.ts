/** JSON documents in the store (run record, commits, state indexes, evaluations): UTF-8, indented one space. */
export const encodeJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value, null, 1));
export const decodeJson = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

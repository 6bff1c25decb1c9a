/**
 * The logging the adapters need: a message plus structured fields. Console, pino and most
 * loggers fit (pino takes fields first; wrap it).
 */
export interface AdapterLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: AdapterLogger = {
  info: (message, fields) => console.info(message, ...(fields ? [fields] : [])),
  warn: (message, fields) => console.warn(message, ...(fields ? [fields] : [])),
  error: (message, fields) => console.error(message, ...(fields ? [fields] : [])),
};

export const silentLogger: AdapterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Adapters take a logger object or a plain `(message) => void` sink. */
export type LogSink = AdapterLogger | ((message: string) => void);

export function toLogger(sink: LogSink | undefined): AdapterLogger {
  if (!sink) return consoleLogger;
  if (typeof sink !== 'function') return sink;
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    sink(`${level === 'info' ? '' : `${level}: `}${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

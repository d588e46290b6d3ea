/**
 * Start-up failures a person can fix (a port in use, a data directory that cannot be created, a
 * database that is missing or unreachable) as one line that says what is wrong and what to do.
 * `packhouse` prints the message and exits non-zero, without a stack trace.
 */

export class StartupError extends Error {}

const codeOf = (err: unknown): string | undefined => (err as { code?: unknown } | undefined)?.code as string | undefined;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A listen() failure of the API server or of the built-in S3 endpoint. */
export function listenError(
  err: unknown,
  what: string,
  setting: { flag: string; env: string },
  host: string,
  port: number,
  hostSetting: { flag: string; env: string } = { flag: 'host', env: 'PACKHOUSE_HOST' },
): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (codeOf(err)) {
    case 'EADDRINUSE':
      return new StartupError(`${what} cannot listen on ${where}: the port is already in use (another Packhouse, or another program). Stop it, or choose another port with --${setting.flag} (${setting.env}).`);
    case 'EACCES':
      return new StartupError(`${what} is not allowed to listen on ${where} (ports below 1024 need privileges). Choose another port with --${setting.flag} (${setting.env}).`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`${what} cannot listen on ${where}: ${host} is not an address of this machine. Fix --${hostSetting.flag} (${hostSetting.env}).`);
    default:
      return err instanceof Error ? err : new Error(messageOf(err));
  }
}

/** The data directory (or a folder in it) could not be created or opened. */
export function dataDirError(err: unknown, dir: string): Error {
  const code = codeOf(err);
  const reason =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a file is in the way of the folder'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : code
              ? `${code}: ${messageOf(err)}`
              : undefined;
  if (reason === undefined) return err instanceof Error ? err : new Error(messageOf(err));
  return new StartupError(`--data-dir ${dir}: cannot create or open the data directory (${reason}). Choose a folder Packhouse may write to with --data-dir (PACKHOUSE_DATA_DIR).`);
}

/** What a connection string names, without its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    return `database "${db}" on ${u.hostname || 'localhost'}:${u.port || '5432'}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
  } catch {
    return 'the database of --database-url';
  }
}

/** A PostgreSQL connection that failed at start. */
export function databaseError(err: unknown, url: string): Error {
  const what = describeDatabaseUrl(url);
  const fix = 'Fix --database-url (PACKHOUSE_DATABASE_URL)';
  switch (codeOf(err)) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StartupError(`PostgreSQL cannot be reached for ${what} (${codeOf(err)}). Start PostgreSQL there, or ${fix.toLowerCase()}.`);
    case '3D000':
      return new StartupError(`PostgreSQL has no ${what}: ${messageOf(err)}. Create it (for example \`createdb\`), or ${fix.toLowerCase()}.`);
    case '28P01':
    case '28000':
      return new StartupError(`PostgreSQL refused the login for ${what}: ${messageOf(err)}. ${fix} with a user and password it accepts.`);
    case '42501':
      return new StartupError(`PostgreSQL does not let Packhouse create its tables in ${what}: ${messageOf(err)}. Grant the user CREATE on the database, or ${fix.toLowerCase()}.`);
    default:
      return err instanceof Error ? err : new Error(messageOf(err));
  }
}

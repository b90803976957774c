/**
 * One `tollgate serve` per SQLite file. Its processes keep live sessions in memory and tell each
 * other about changes (process-bus.ts); a second server on the same file would not hear them and
 * could accept a logged-out token. So the serving process claims `<file>.serve.lock` (its pid),
 * and a second server refuses to start while that pid lives. A lock left by a crash is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class SqliteServeLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqliteServeLockError';
  }
}

/** Claims the lock for this process; returns its release. */
export function claimSqliteServeLock(databasePath: string): () => void {
  const path = `${databasePath}.serve.lock`;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw new SqliteServeLockError(`cannot open sqlite database ${databasePath}: ${(error as Error).message}`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new SqliteServeLockError(`cannot claim ${path}: ${(error as Error).message}`);
      const holder = Number(readFileSync(path, 'utf8'));
      if (holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new SqliteServeLockError(
          `another tollgate server (pid ${holder}) is serving ${databasePath}; add processes with --workers, or use PostgreSQL and Redis for several servers (if that pid is not tollgate, delete ${path})`,
        );
      }
      rmSync(path, { force: true }); // left behind by a process that is gone
    }
  }
  throw new SqliteServeLockError(`could not claim ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

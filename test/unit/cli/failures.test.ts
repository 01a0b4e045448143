import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliFailure, ExitCodes, explainFailure } from '../../../src/cli/failures.js';
import { ConfigError } from '../../../src/config/config-file.js';
import { LogLevelError } from '../../../src/logger.js';
import { InitError } from '../../../src/setup/init.js';
import { DataDirLockedError } from '../../../src/storage/data-dir-lock.js';

/** A system error as Node's fs and net modules make them. */
function systemError(code: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(`${code}: something`), { code, ...fields });
}

describe('explainFailure', () => {
  it('maps each known failure to its exit code and a message that says how to fix it', () => {
    const cases: [unknown, number, RegExp][] = [
      [new DataDirLockedError('/d', { pid: 7, host: 'h', command: 'parapet start', since: 'then' }), ExitCodes.DATA_DIR, /in use by parapet start \(pid 7 on h/],
      [new InitError('/d is already initialised'), ExitCodes.DATA_DIR, /already initialised/],
      [new ConfigError('f.yaml: invalid configuration'), ExitCodes.USAGE, /invalid configuration/],
      [new LogLevelError('PARAPET_LOG_LEVEL must be one of …'), ExitCodes.USAGE, /PARAPET_LOG_LEVEL/],
      [systemError('EADDRINUSE', { syscall: 'listen', address: '::1', port: 9092 }), ExitCodes.LISTEN, /cannot listen on \[::1\]:9092: the address is already in use/],
      [systemError('EADDRNOTAVAIL', { syscall: 'listen', address: '10.9.9.9', port: 9092 }), ExitCodes.LISTEN, /not an address of this machine/],
      [systemError('EACCES', { syscall: 'listen', address: '0.0.0.0', port: 80 }), ExitCodes.LISTEN, /ports below 1024 need privileges/],
      [systemError('EACCES', { syscall: 'mkdir', path: '/srv/data' }), ExitCodes.DATA_DIR, /^cannot create \/srv\/data: permission denied/],
      [systemError('EACCES', { syscall: 'scandir', path: '/srv/data' }), ExitCodes.DATA_DIR, /^cannot read the directory \/srv\/data: permission denied/],
      [systemError('EPERM', { syscall: 'chmod', path: '/srv/data' }), ExitCodes.DATA_DIR, /^cannot change the permissions of \/srv\/data: operation not permitted/],
      [systemError('ENOTDIR', { syscall: 'mkdir', path: '/etc/passwd/data' }), ExitCodes.DATA_DIR, /a file, not a directory/],
      [systemError('EROFS', { syscall: 'open', path: '/ro/parapet.lock' }), ExitCodes.DATA_DIR, /read-only/],
      [systemError('ENOSPC', { syscall: 'write' }), ExitCodes.DATA_DIR, /no space left/],
      [systemError('SQLITE_READONLY', {}), ExitCodes.DATA_DIR, /metadata store/],
      [new CliFailure('as is', ExitCodes.USAGE), ExitCodes.USAGE, /^as is$/],
    ];
    for (const [err, code, message] of cases) {
      const failure = explainFailure(err, { dataDir: '/srv/data' });
      assert.ok(failure !== undefined, String(err));
      assert.equal(failure.exitCode, code, String(err));
      assert.match(failure.message, message);
    }
  });

  it('leaves what it does not know to the unexpected-error path (a bug, shown with --debug)', () => {
    assert.equal(explainFailure(new TypeError('x is undefined')), undefined);
    assert.equal(explainFailure('a string'), undefined);
    assert.equal(explainFailure(systemError('EBADF', { syscall: 'read' })), undefined);
  });
});

#!/usr/bin/env node
import { Command } from 'commander';
import { ALL_APIS } from '../protocol/messages/index.js';

/**
 * The `parapet` command. Today it can list the Kafka APIs Parapet speaks; the broker itself
 * (`parapet start`) arrives with the storage engine (see the README's status line).
 */
const program = new Command('parapet').description('A secure-by-default, Kafka-compatible event streaming system');

program
  .command('apis')
  .description('list the Kafka APIs and versions Parapet decodes and encodes')
  .action(() => {
    for (const api of ALL_APIS) {
      const flex = api.flexibleFrom === null ? 'never' : `v${api.flexibleFrom}+`;
      console.log(`${String(api.apiKey).padStart(3)}  ${api.name.padEnd(30)} v${api.minVersion}-v${api.maxVersion}  (flexible ${flex})`);
    }
  });

program
  .command('start')
  .description('start a broker')
  .action(() => {
    console.error('parapet: the broker is not built yet; this release has the wire protocol layer only.');
    console.error('Run `npx parapet apis` to see the Kafka APIs it speaks, and `npm test` to check them.');
    process.exitCode = 1;
  });

await program.parseAsync(process.argv);

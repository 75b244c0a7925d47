/**
 * A stand-in for ssh in the client tests: scp runs it as `-S`, it ignores the host and options,
 * and runs the file server for the remote command, as the dispatcher will: `-s ... sftp` is
 * the SFTP subsystem, anything else the last argument, a legacy `scp -t`/`scp -f` command.
 * The policy comes in FILES_POLICY (JSON), events go to the file FILES_EVENTS (as fd 3).
 */
import { spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { parseScpWords } from '../../../src/rules/sftp/match.js';

const args = process.argv.slice(2);
const policy = JSON.parse(process.env.FILES_POLICY!);
let launch: object;
if (args.includes('-s')) launch = { protocol: 'sftp', policy };
else {
  const request = parseScpWords(args.at(-1)!.split(' '));
  if (typeof request === 'string') {
    process.stderr.write(`fake-ssh: ${request}\n`);
    process.exit(127);
  }
  launch = { protocol: 'scp', policy, scp: request };
}
const events = openSync(process.env.FILES_EVENTS!, 'a');
const run = spawnSync(process.execPath, [process.env.FILES_SERVER!, JSON.stringify(launch)], {
  stdio: ['inherit', 'inherit', 'inherit', events],
});
process.exit(run.status ?? 1);

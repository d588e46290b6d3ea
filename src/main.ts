/**
 * The `packhouse` command: `serve` runs the server until SIGINT/SIGTERM; `help` lists settings.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, settingsHelp } from './config/config.js';
import { startApp } from './app.js';
import { jobsCommand, parseJobsArgs } from './jobs-command.js';
import { StartupError } from './startup-errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const USAGE = `Usage: packhouse <command> [options]

Commands:
  serve      run the Packhouse server (control plane, ingest, origin, harvester)
  jobs       list harvest jobs and their progress from the server's database
             (same --data-dir / --database-url as the server; --follow to keep watching;
             --limit N: the N newest finished jobs, 1000 by default)
  help       show this help
  version    print the version

Options (each also set by its environment variable; a flag wins):
${settingsHelp()}
`;

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(argv, process.env);
  const app = await startApp(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'stopping');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

export async function main(args: string[]): Promise<void> {
  const [command = 'help', ...rest] = args;
  try {
    switch (command) {
      case 'serve':
        await serve(rest);
        return;
      case 'jobs': {
        const { options, rest: storeArgs } = parseJobsArgs(rest);
        const config = loadConfig(storeArgs, process.env);
        await jobsCommand(config, options, process.stdout);
        return;
      }
      case 'version':
      case '--version':
        process.stdout.write(`${version()}\n`);
        return;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return;
      default:
        process.stderr.write(`packhouse: unknown command "${command}"\n\n${USAGE}`);
        process.exitCode = 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`packhouse: invalid configuration: ${(err).message}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof StartupError) {
      process.stderr.write(`packhouse: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

import type { Command } from 'commander';
import { action } from '../command.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the API and the background work (as npm start); settings from the environment (README, Configuration)')
    .action(
      action(async () => {
        const { serve } = await import('../../main.js');
        await serve();
      }),
    );
}

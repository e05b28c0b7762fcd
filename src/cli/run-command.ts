import { CtrError } from '../errors/registry.ts';
import type { Command } from './command.ts';

// Placeholder until its issue lands: refuses with a coded error rather than pretending to work.
const command: Command = {
  summary: 'run',
  async run() {
    throw new CtrError('CTR_ERR_USAGE', '"run" is not implemented yet');
  },
};
export default command;

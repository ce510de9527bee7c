/**
 * Child process for the cross-process gapless test: appends `count` events
 * to the SQLite database given on the command line, one transaction each,
 * rolling back every `rollbackEvery`-th one. Prints the sequences it
 * committed as one JSON line.
 */
import { openDatabase, withTransaction } from '../../src/db/index.js';
import { EventLog } from '../../src/events/index.js';

const [file, countText, rollbackEveryText, tag] = process.argv.slice(2);
const count = Number(countText);
const rollbackEvery = Number(rollbackEveryText);
const db = await openDatabase({ client: 'sqlite', connection: file! });
const log = new EventLog(db);
const committed: number[] = [];
for (let i = 0; i < count; i += 1) {
  const rollback = rollbackEvery > 0 && i % rollbackEvery === rollbackEvery - 1;
  try {
    const sequence = await withTransaction(db, async (trx) => {
      const event = await log.append(trx, { type: 'v1.package.created', subjectId: `${tag}-${i}`, actor: 'worker', payload: { worker: tag!, i } });
      if (rollback) throw new Error('planned rollback');
      return event.sequence;
    });
    committed.push(sequence);
  } catch (error) {
    if ((error as Error).message !== 'planned rollback') throw error;
  }
}
await db.close();
process.stdout.write(`${JSON.stringify(committed)}\n`);

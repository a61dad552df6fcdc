import type { Laurel } from '../app.js';
import { inTransaction } from '../db/database.js';

export interface DemoSeed {
  programId: string;
  apiKey: string;
  members: string[];
}

const DEMO_MEMBERS = [
  { externalId: 'u-1001', name: 'Li Wei', phone: '+86 138 0000 1001', birthday: '1990-02-28', region: 'Shanghai', tags: ['vip'] },
  { externalId: 'u-1002', name: 'Zhang Min', phone: '+86 138 0000 1002', birthday: '1988-07-14', region: 'Beijing', tags: [] },
  { externalId: 'u-1003', name: 'Wang Fang', email: 'fang@example.com', birthday: '1996-02-29', region: 'Shenzhen', tags: ['student'] },
  { externalId: 'u-1004', name: 'Chen Jie', region: 'Hangzhou', tags: ['staff'] },
  { externalId: 'u-1005', name: 'Liu Yang', email: 'yang@example.com', birthday: '2000-12-01', region: 'Chengdu', tags: [] },
];

/** A small coffee-chain program to explore the API and the console with. */
export async function seedDemo(laurel: Laurel): Promise<DemoSeed> {
  const { access, members } = laurel.services;
  return inTransaction(laurel.database.db, async (trx) => {
    const program = await laurel.createProgram(
      { name: 'Laurel Coffee (demo)', mode: 'live', timeZone: 'Asia/Shanghai', currency: 'CNY', settings: { demo: true } },
      trx,
    );
    const { secret } = await access.createKey(trx, program.id, { name: 'demo key', scopes: ['admin'] });
    const ctx = laurel.systemContext(program, 'seed-demo');
    const ids: string[] = [];
    for (const m of DEMO_MEMBERS) ids.push((await members.create(ctx, m, trx)).id);
    return { programId: program.id, apiKey: secret, members: ids };
  });
}

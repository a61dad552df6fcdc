import { sql as foundation } from './0001-foundation.js';
import { sql as ledger } from './0002-ledger.js';
import { sql as earning } from './0003-earning.js';
import { sql as engagement } from './0004-engagement.js';
import { sql as mall } from './0005-mall.js';
import { sql as tiers } from './0006-tiers.js';
import { sql as integration } from './0007-integration.js';
import { sql as operators } from './0008-operators.js';
import { sql as ledgerFingerprints } from './0009-ledger-fingerprints.js';
import { sql as privileges } from './0010-privileges.js';
import { sql as whatif } from './0011-whatif.js';
import { sql as partnerAttribution } from './0012-partner-attribution.js';
import { sql as eventExplanations } from './0014-event-explanations.js';
import { sql as mallStockShards } from './0015-mall-stock-shards.js';
import { sql as pages } from './0016-pages.js';
import { sql as counterGuard } from './0017-counter-guard.js';
import { sql as ledgerOutboxPerStatement } from './0018-ledger-outbox-per-statement.js';
import { sql as tierUpgradeFunction } from './0019-tier-upgrade-function.js';
import { sql as tierBucketsProgramIndex } from './0020-tier-buckets-program-index.js';
import { sql as tierConfigForeignKeys } from './0021-tier-config-foreign-keys.js';
import { sql as tierUpgradeLean } from './0022-tier-upgrade-lean.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Versioned migrations, applied in order; a version once released is never edited. */
export const migrations: Migration[] = [
  { version: 1, name: 'foundation', sql: foundation },
  { version: 2, name: 'ledger', sql: ledger },
  { version: 3, name: 'earning', sql: earning },
  { version: 4, name: 'engagement', sql: engagement },
  { version: 5, name: 'mall', sql: mall },
  { version: 6, name: 'tiers', sql: tiers },
  { version: 7, name: 'integration', sql: integration },
  { version: 8, name: 'operators', sql: operators },
  { version: 9, name: 'ledger-fingerprints', sql: ledgerFingerprints },
  { version: 10, name: 'privileges', sql: privileges },
  { version: 11, name: 'whatif', sql: whatif },
  { version: 12, name: 'partner-attribution', sql: partnerAttribution },
  { version: 14, name: 'event-explanations', sql: eventExplanations },
  { version: 15, name: 'mall-stock-shards', sql: mallStockShards },
  { version: 16, name: 'pages', sql: pages },
  { version: 17, name: 'counter-guard', sql: counterGuard },
  { version: 18, name: 'ledger-outbox-per-statement', sql: ledgerOutboxPerStatement },
  { version: 19, name: 'tier-upgrade-function', sql: tierUpgradeFunction },
  { version: 20, name: 'tier-buckets-program-index', sql: tierBucketsProgramIndex },
  { version: 21, name: 'tier-config-foreign-keys', sql: tierConfigForeignKeys },
  { version: 22, name: 'tier-upgrade-lean', sql: tierUpgradeLean },
];

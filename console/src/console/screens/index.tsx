import type { MessageKey } from '../../shared/i18n.js';
import { Benefits, Campaigns, EventTypes, PointTypes } from './catalogue.js';
import { CheckinSchedule, Medals, Tasks } from './engagement.js';
import { Imports } from './Imports.js';
import { ApiKeys, AuditLog, Webhooks } from './integration.js';
import { Draws, MallItems, MallOrders } from './mall.js';
import { ChannelPages } from './pages.js';
import { Reports } from './Reports.js';
import { Tiers } from './Tiers.js';

export interface Screen {
  /** the hash route: #/<key> */
  key: string;
  label: MessageKey;
  group: MessageKey;
  Component(): JSX.Element;
}

/** The configuration and insight screens, in menu order; the menu and the router both read this list. */
export const SCREENS: Screen[] = [
  { key: 'point-types', label: 'pointTypes', group: 'menuEarning', Component: PointTypes },
  { key: 'event-types', label: 'eventTypes', group: 'menuEarning', Component: EventTypes },
  { key: 'campaigns', label: 'campaigns', group: 'menuEarning', Component: Campaigns },
  { key: 'tiers', label: 'tiers', group: 'menuMembership', Component: Tiers },
  { key: 'benefits', label: 'benefits', group: 'menuMembership', Component: Benefits },
  { key: 'check-in', label: 'checkInSchedule', group: 'menuEngagement', Component: CheckinSchedule },
  { key: 'tasks', label: 'tasks', group: 'menuEngagement', Component: Tasks },
  { key: 'medals', label: 'medals', group: 'menuEngagement', Component: Medals },
  { key: 'mall-items', label: 'mallItems', group: 'menuMall', Component: MallItems },
  { key: 'orders', label: 'orders', group: 'menuMall', Component: MallOrders },
  { key: 'draws', label: 'draws', group: 'menuMall', Component: Draws },
  { key: 'channel-pages', label: 'channelPages', group: 'menuMall', Component: ChannelPages },
  { key: 'reports', label: 'reports', group: 'menuInsight', Component: Reports },
  { key: 'audit-log', label: 'auditLog', group: 'menuInsight', Component: AuditLog },
  { key: 'webhooks', label: 'webhooks', group: 'menuIntegration', Component: Webhooks },
  { key: 'api-keys', label: 'apiKeys', group: 'menuIntegration', Component: ApiKeys },
  { key: 'imports', label: 'imports', group: 'menuIntegration', Component: Imports },
];

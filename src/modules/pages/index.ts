import type { LaurelModule, ModuleDeps } from '../../app.js';
import type { MallService } from '../mall/index.js';
import { pageRoutes } from './pages.routes.js';
import { PagesService } from './pages.service.js';

export { PagesService } from './pages.service.js';
export type { Banner, PageConfig, MemberPage } from './pages.service.js';

/** Page configuration per channel (issue 9): banners and the mall's item order. */
export function pagesModule(deps: ModuleDeps, extra: { mall: MallService }): LaurelModule<PagesService> {
  const service = new PagesService(deps.db, extra.mall);
  return { name: 'pages', service, routes: (app) => pageRoutes(app, service) };
}

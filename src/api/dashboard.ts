import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';

/**
 * The dashboard (docs/dashboard.md): the single-page app `npm run build:dashboard` writes to dist/dashboard, served at
 * `/` with its own routes. Its files hold no data and no secret, so they are served before the API's authentication;
 * everything they show comes from the API, with the key the page asks for when keys are configured.
 */
export const DASHBOARD_DIR = resolve(__dirname, '../../dist/dashboard');

/** The page's client-side routes: each answers index.html, which then reads the path. */
export const DASHBOARD_ROUTES = ['/', '/plans', '/plans/:planId', '/pool', '/schedules'];

/** Only this origin's scripts, styles and API: the page fetches nothing from elsewhere. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

function notBuilt(_req: Request, res: Response): void {
  res
    .status(503)
    .type('text/plain')
    .send(
      `The dashboard is not built (no ${join(DASHBOARD_DIR, 'index.html')}): run "npm run build:dashboard" ` +
        '(npm start and npm run build do it). The API under /v1 works without it.\n',
    );
}

export function dashboardRoutes(dir = DASHBOARD_DIR): Router {
  const router = express.Router();
  const index = join(dir, 'index.html');
  const page = (req: Request, res: Response): void => {
    if (!existsSync(index)) return notBuilt(req, res);
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  };
  router.get(DASHBOARD_ROUTES, page);
  // Vite names its assets by content hash: they never change under one name.
  router.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y' }));
  return router;
}

import { useEffect, useState } from 'preact/hooks';

/** The page's routes (the API answers index.html for each): `/`, `/plans/:planId`, `/pool`, `/schedules`. */
export type Route = { page: 'plans' } | { page: 'plan'; planId: string } | { page: 'pool' } | { page: 'schedules' };

export function parseRoute(pathname: string): Route {
  const plan = /^\/plans\/([^/]+)\/?$/.exec(pathname);
  if (plan?.[1]) return { page: 'plan', planId: decodeURIComponent(plan[1]) };
  if (/^\/pool\/?$/.test(pathname)) return { page: 'pool' };
  if (/^\/schedules\/?$/.test(pathname)) return { page: 'schedules' };
  return { page: 'plans' };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(href: string): void {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  listeners.forEach((l) => l());
}

/** The current location, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const [loc, setLoc] = useState({ pathname: location.pathname, search: location.search });
  useEffect(() => {
    const update = () => setLoc({ pathname: location.pathname, search: location.search });
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return loc;
}

/** A link that navigates without reloading the page (a normal link for a new tab or window). */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget ?? e.target) as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target === '_blank') return;
  e.preventDefault();
  navigate(a.getAttribute('href') ?? '/');
}

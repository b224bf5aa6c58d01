import { useEffect, useState } from 'preact/hooks';
import { apiKey, onUnauthorized, setApiKey } from './api';
import { Link } from './components/bits';
import { Login } from './components/login';
import { PlanPage } from './pages/plan-page';
import { PlansPage } from './pages/plans-page';
import { PoolPage } from './pages/pool-page';
import { SchedulesPage } from './pages/schedules-page';
import { parseRoute, useLocation } from './router';

export function App() {
  const { pathname } = useLocation();
  const route = parseRoute(pathname);
  const [needKey, setNeedKey] = useState(false);
  const [session, setSession] = useState(0);
  useEffect(() => onUnauthorized(() => setNeedKey(true)), []);
  const signOut = () => {
    setApiKey(null);
    setNeedKey(true);
  };
  return (
    <div class="app">
      <header class="top">
        <Link href="/" class="brand">
          Agent Orchestrator
        </Link>
        <nav>
          <Link href="/" class={route.page === 'plans' || route.page === 'plan' ? 'active' : ''}>
            Plans
          </Link>
          <Link href="/schedules" class={route.page === 'schedules' ? 'active' : ''}>
            Schedules
          </Link>
          <Link href="/pool" class={route.page === 'pool' ? 'active' : ''}>
            Agent pool
          </Link>
        </nav>
        {apiKey() ? (
          <button class="link" onClick={signOut}>
            Sign out
          </button>
        ) : null}
      </header>
      <main key={session}>
        {needKey ? (
          <Login
            onLogin={() => {
              setNeedKey(false);
              setSession((s) => s + 1);
            }}
          />
        ) : route.page === 'plan' ? (
          <PlanPage key={route.planId} planId={route.planId} />
        ) : route.page === 'pool' ? (
          <PoolPage />
        ) : route.page === 'schedules' ? (
          <SchedulesPage />
        ) : (
          <PlansPage />
        )}
      </main>
    </div>
  );
}

import { useState } from 'preact/hooks';
import { api, ApiError, setApiKey } from '../api';
import { errorText } from '../format';

/** Asks for an API key (the API has keys configured); keeps it in this tab's sessionStorage only. */
export function Login({ onLogin }: { onLogin: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setApiKey(key.trim());
    try {
      await api('/v1/plans?limit=1');
      onLogin();
    } catch (err) {
      setApiKey(null);
      setError(err instanceof ApiError && err.status === 401 ? 'That key is not valid.' : errorText(err));
    }
  };
  return (
    <form class="login" onSubmit={(e) => void submit(e)}>
      <h2>API key</h2>
      <p>
        This API needs a key (a key with the <code>read</code> scope to watch; <code>operate</code> to cancel or pause;{' '}
        <code>submit</code> to answer a human-input request or start a rerun). It stays in this browser tab only.
      </p>
      <input
        type="password"
        name="apiKey"
        autoComplete="off"
        placeholder="API key"
        value={key}
        onInput={(e) => setKey((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={key.trim() === ''}>
        Sign in
      </button>
      {error ? <p class="error">{error}</p> : null}
    </form>
  );
}

import { render } from 'preact';
import { App } from './app';
import './perf';
import './styles.css';

render(<App />, document.getElementById('app') as HTMLElement);
